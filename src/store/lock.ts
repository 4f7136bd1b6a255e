import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { AppError } from "../core/errors.ts";

export interface LockInfo {
  pid: number;
  holder: string;
  since: string;
  /** Set by a server once it listens, so the CLI can point there. */
  serverUrl?: string;
}

export interface DataLock {
  file: string;
  setServerUrl(url: string): void;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readLock(dataDir: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dataDir, "callplane.lock"), "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
}

/**
 * The embedded engine must have one process at a time on its folder, or it corrupts.
 * A lock file holds the owner's pid; a lock whose process is gone is taken over.
 */
export function acquireDataLock(dataDir: string, holder: string): DataLock {
  const file = path.join(dataDir, "callplane.lock");
  const info: LockInfo = { pid: process.pid, holder, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      return {
        file,
        setServerUrl(url: string) {
          info.serverUrl = url;
          writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
        },
        release() {
          if (released) return;
          released = true;
          const current = readLock(dataDir);
          if (current?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const other = readLock(dataDir);
      if (other && other.pid !== process.pid && alive(other.pid)) {
        const way = other.serverUrl
          ? `run the command again with --server ${other.serverUrl} (or set CALLPLANE_SERVER) to go through that server, or stop it first`
          : "wait for it to finish or stop it, or use another folder with --data DIR";
        throw new AppError("store_in_use", `The data folder ${dataDir} is in use by ${other.holder} (pid ${other.pid}): ${way}.`);
      }
      // A stale lock from a process that is gone.
      rmSync(file, { force: true });
    }
  }
  throw new AppError("store_in_use", `Could not lock the data folder ${dataDir}: remove ${file} if no Callplane process is running.`);
}
