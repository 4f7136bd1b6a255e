import { chmodSync, lstatSync, mkdirSync, readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import { AppError } from "../core/errors.ts";
import { acquireDataLock, type DataLock } from "./lock.ts";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Store {
  db: Db;
  kind: "pglite" | "postgres";
  /** The data folder, or the database URL with its password removed. */
  location: string;
  lock?: DataLock;
  /** What opening it found and fixed that the operator should hear about (e.g. a folder made private). */
  notices: string[];
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL connection string; when set, the embedded store is not used. */
  databaseUrl?: string;
  /** PGlite data folder; `memory://` (or undefined with `memory: true`) for an in-memory store. */
  dataDir?: string;
  memory?: boolean;
  /** What holds the data folder, written into its lock file so others can be told. */
  holder?: string;
  /**
   * PostgreSQL ends a session left idle inside a transaction this long (a stalled or stopped process),
   * releasing its locks, so another node can take its work over. Default 60 s.
   */
  idleTransactionTimeoutMs?: number;
}

const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../drizzle");

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

/** Opens the store the options name and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.idleTransactionTimeoutMs ?? 60_000);
  return openPglite(options);
}

async function openPostgres(url: string, idleTransactionTimeoutMs: number): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    options: `-c idle_in_transaction_session_timeout=${Math.max(1000, Math.round(idleTransactionTimeoutMs))}`,
  });
  // A connection the pool holds idle can be ended by the server (a restart, an administrator's
  // pg_terminate_backend, a network cut): pg reports that as an 'error' on the pool, which without a
  // listener is an uncaught exception that would stop the whole process. The pool has already dropped
  // that connection and opens a new one when next asked, so it is reported and nothing else.
  let closing = false;
  const ended = new Set<Promise<void>>();
  pool.on("connect", (c) => {
    ended.add(new Promise<void>((resolve) => c.once("end", () => resolve())));
  });
  pool.on("error", (err) => {
    if (closing) return;
    process.stderr.write(
      `PostgreSQL ended an idle connection (${(err as { code?: string }).code ?? "no code"}: ${err.message}); a new one is opened when needed.\n`,
    );
  });
  const close = async () => {
    closing = true;
    await pool.end();
    // pool.end() resolves once it has asked each connection to end, not when they have: wait for them
    // (bounded), so a caller that drops the database next does not cut connections still closing.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
  };
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const client = await pool.connect();
  try {
    // Several API nodes may start at once: only one migrates.
    await client.query("select pg_advisory_lock(727274)");
    try {
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock(727274)");
    }
  } finally {
    client.release();
  }
  return { db, kind: "postgres", location: redactUrl(url), notices: [], close };
}

/**
 * Makes a folder and everything under it its owner's only (folders 0700, files without group or other
 * bits), creating the folder when missing. Returns what it had to change; throws, naming the command
 * that fixes it, when a mode cannot be changed (a file owned by someone else).
 */
export function makePrivate(folder: string, what: string, holds: string): string[] {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  // The folder may be a link to where the data really is: that place is made private.
  const dir = realpathSync(folder);
  const loose: string[] = [];
  const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";
  const visit = (p: string) => {
    // An entry gone since its folder was listed (a temporary file) has nothing to make private.
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    // A link is followed by nobody here: its target is not ours to change.
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) {
      try {
        chmodSync(p, st.mode & 0o700);
      } catch (err) {
        if (gone(err)) return;
        throw new AppError(
          "unavailable",
          `${what} ${folder} is readable by other users (${path.relative(dir, p) || "the folder itself"} has mode ${(st.mode & 0o777).toString(8)}) and could not be made private (${(err as NodeJS.ErrnoException).code ?? String(err)}): as its owner run \`chmod -R go-rwx ${folder}\`, then start again.`,
        );
      }
      loose.push(p);
    }
    if (!st.isDirectory()) return;
    let entries: string[];
    try {
      entries = readdirSync(p);
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    for (const e of entries) visit(path.join(p, e));
  };
  visit(dir);
  return loose.length === 0
    ? []
    : [
        `${what} ${folder} was readable by other users (${loose.length} ${loose.length === 1 ? "entry" : "entries"}, e.g. ${path.relative(dir, loose[0] ?? dir) || "the folder itself"}): made private (owner only). It holds ${holds}: consider who could read it before.`,
      ];
}

/**
 * The embedded engine writes its files with modes of its own (0666, whatever the umask): while a store
 * is open the process creates files owner-only, and the folder is tightened again after the engine
 * has made its files. Counted, so the umask is given back when the last store closes.
 */
let privateUmaskHolders = 0;
let umaskBefore: number | undefined;
function holdPrivateUmask(): () => void {
  try {
    if (privateUmaskHolders === 0) umaskBefore = process.umask(0o077);
    privateUmaskHolders++;
  } catch {
    // Worker threads cannot change the umask; the folder's 0700 still keeps others out.
    return () => undefined;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    privateUmaskHolders--;
    if (privateUmaskHolders === 0 && umaskBefore !== undefined) process.umask(umaskBefore);
  };
}

const DATA_HOLDS = "the store (PIN hashes, password and token hashes) and, by default, the PIN key and the outbox";

async function openPglite(options: StoreOptions): Promise<Store> {
  const inMemory = options.memory === true || options.dataDir === undefined || options.dataDir === "memory://";
  let lock: DataLock | undefined;
  let dataDir: string | undefined;
  let releaseUmask: () => void = () => undefined;
  const notices: string[] = [];
  if (!inMemory && options.dataDir) {
    dataDir = path.resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Locked first: the folder is walked only while no other process writes in it.
    lock = acquireDataLock(dataDir, options.holder ?? "callplane");
    releaseUmask = holdPrivateUmask();
  }
  try {
    if (dataDir) notices.push(...makePrivate(dataDir, "The data folder", DATA_HOLDS));
    const client = dataDir ? new PGlite(path.join(dataDir, "pgdata")) : new PGlite();
    await client.waitReady;
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder });
    // The engine's first files (from its initial database) come with modes of their own.
    if (dataDir) makePrivate(path.join(dataDir, "pgdata"), "The store folder", DATA_HOLDS);
    return {
      db,
      kind: "pglite",
      location: dataDir ?? "memory://",
      lock,
      notices,
      close: async () => {
        try {
          await client.close();
        } finally {
          try {
            // What the engine wrote while open; a failure here is found and said at the next start.
            if (dataDir) makePrivate(path.join(dataDir, "pgdata"), "The store folder", DATA_HOLDS);
          } catch {
            // The lock must still be released.
          }
          releaseUmask();
          lock?.release();
        }
      },
    };
  } catch (err) {
    releaseUmask();
    lock?.release();
    throw err;
  }
}

/** Rows of a raw query, whichever driver ran it. */
export async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
