import { existsSync, mkdirSync } from "node:fs";
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
import { acquireDataLock, type DataLock } from "./lock.ts";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Store {
  db: Db;
  kind: "pglite" | "postgres";
  /** The data folder, or the database URL with its password removed. */
  location: string;
  lock?: DataLock;
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
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(options);
}

async function openPostgres(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
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
  return { db, kind: "postgres", location: redactUrl(url), close: () => pool.end() };
}

async function openPglite(options: StoreOptions): Promise<Store> {
  const inMemory = options.memory === true || options.dataDir === undefined || options.dataDir === "memory://";
  let lock: DataLock | undefined;
  let dataDir: string | undefined;
  if (!inMemory && options.dataDir) {
    dataDir = path.resolve(options.dataDir);
    if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
    lock = acquireDataLock(dataDir, options.holder ?? "callplane");
  }
  try {
    const client = dataDir ? new PGlite(path.join(dataDir, "pgdata")) : new PGlite();
    await client.waitReady;
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder });
    return {
      db,
      kind: "pglite",
      location: dataDir ?? "memory://",
      lock,
      close: async () => {
        await client.close();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** Rows of a raw query, whichever driver ran it. */
export async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
