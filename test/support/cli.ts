import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The real binary, as a user runs it. */
export const callplaneBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/callplane.mjs");

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment as inherited (CI included), less what would point the CLI at another store or server. */
export function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["DATABASE_URL", "CALLPLANE_SERVER", "CALLPLANE_DATA", "CALLPLANE_TENANT", "CALLPLANE_OUTBOX"]) delete env[name];
  return env;
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the process has ended, however it ended. */
  done: Promise<Ran & { signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts `callplane ...args` in `cwd` with no standard input. */
export function spawnCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [callplaneBin, ...args], {
    cwd,
    env: { ...cliEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Ran & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => `stdout: ${stdout}\nstderr: ${stderr}` };
}

/** Runs `callplane ...args` in `cwd` with no standard input, to the end (killed after `timeoutMs`: a hang is a failure). */
export async function runCli(cwd: string, args: string[], timeoutMs = 45_000, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const p = spawnCli(cwd, args, env);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
  const ran = await p.done.finally(() => clearTimeout(timer));
  if (ran.signal === "SIGKILL") throw new Error(`callplane ${args.join(" ")} did not finish in ${timeoutMs} ms.\n${p.output()}`);
  return { code: ran.code, stdout: ran.stdout, stderr: ran.stderr };
}
