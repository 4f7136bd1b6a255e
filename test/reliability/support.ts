// Real processes for the crash and concurrency suites: the CLI and the server spawned as a user runs
// them, killed with SIGKILL, and throwaway PostgreSQL databases beside the suite's own.
import { createServer } from "node:net";
import { runCli, type Spawned, spawnCli } from "../support/cli.ts";
import { createTestDatabase } from "../support/store.ts";

export { runCli, type Spawned, spawnCli };

/** A deterministic stream of numbers in [0, 1), so a failing run's kill points can be replayed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess extends Spawned {
  url: string;
}

/** Starts `callplane serve` on a free port and waits until it listens. */
export async function startServe(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<ServerProcess> {
  const port = await freePort();
  const p = spawnCli(cwd, ["serve", "--port", String(port), ...args], env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.kill("SIGKILL");
      reject(new Error(`The server did not listen in ${timeoutMs} ms.\n${p.output()}`));
    }, timeoutMs);
    const onData = () => {
      const m = /listening on (http:\/\/\S+?) /.exec(p.output());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    p.child.stdout?.on("data", onData);
    p.child.stderr?.on("data", onData);
    void p.done.then(() => {
      clearTimeout(timer);
      reject(new Error(`The server ended before listening.\n${p.output()}`));
    });
  });
  return { ...p, url };
}

/** Kills a process with SIGKILL (no clean-up of any kind runs) and waits for it to be gone. */
export async function killHard(p: Spawned): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await p.done;
}

/** A throwaway PostgreSQL database on the suite's server (DATABASE_URL), dropped by `drop()`. */
export const throwawayDatabase = () => createTestDatabase("cp_rel");

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
