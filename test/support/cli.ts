import { spawn } from "node:child_process";
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

/** Runs `callplane ...args` in `cwd` with no standard input, to the end (killed after `timeoutMs`). */
export function runCli(cwd: string, args: string[], timeoutMs = 45_000, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [callplaneBin, ...args], {
      cwd,
      env: { ...cliEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`callplane ${args.join(" ")} did not finish in ${timeoutMs} ms.\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
