import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, it } from "vitest";
import type { Ctx } from "../../src/core/context.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { assertNoSecretLeaked } from "./leak-watch.ts";

/** Which store the suite runs on: PostgreSQL when DATABASE_URL is set, else PGlite in memory. */
export const storeKind = process.env.DATABASE_URL ? "postgres" : "pglite";

if (process.env.CALLPLANE_TEST_STORE === "postgres" && !process.env.DATABASE_URL) {
  // CI asks for the PostgreSQL run explicitly: missing PostgreSQL is a failure, never a skip.
  throw new Error("CALLPLANE_TEST_STORE=postgres but DATABASE_URL is not set: start PostgreSQL and set DATABASE_URL.");
}

export interface TestRuntime extends Runtime {
  outboxDir: string;
  /** The test database on PostgreSQL (for a second node on the same store); undefined on PGlite. */
  databaseUrl?: string;
  /** A context on the first tenant, acting as `test`. */
  tenantCtx(): Promise<Ctx>;
}

/**
 * A test that needs PostgreSQL (several processes on one store): it runs in CI's PostgreSQL pass, where
 * DATABASE_URL is set, and elsewhere is skipped with that reason in its name.
 */
export function itOnPostgres(name: string, fn: () => Promise<void>, timeout?: number): void {
  if (process.env.DATABASE_URL) it(name, fn, timeout);
  else it.skip(`${name} — skipped: needs PostgreSQL (set DATABASE_URL; CI's PostgreSQL pass runs it)`, fn);
}

/** A block of tests that need PostgreSQL; elsewhere one skipped entry says why, in its name. */
export function describeOnPostgres(name: string, fn: () => void): void {
  if (process.env.DATABASE_URL) describe(name, fn);
  else
    describe(name, () => {
      it.skip("— skipped: needs PostgreSQL (set DATABASE_URL; CI's PostgreSQL pass runs these tests)", () => undefined);
    });
}

/** A throwaway database on the suite's PostgreSQL server (DATABASE_URL), dropped by `drop()`. */
export async function createTestDatabase(prefix = "cp_test"): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("DATABASE_URL is not set: a PostgreSQL database cannot be made.");
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A fresh, empty store for one test file: an in-memory PGlite, or a new PostgreSQL database. */
export async function openTestRuntime(): Promise<TestRuntime> {
  const outboxDir = mkdtempSync(path.join(os.tmpdir(), "callplane-outbox-"));
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase();
    databaseUrl = db.url;
    dropDatabase = db.drop;
  }
  const runtime = await openRuntime({ databaseUrl, memory: !databaseUrl, outboxDir });
  return {
    ...runtime,
    outboxDir,
    databaseUrl,
    tenantCtx: () => runtime.ctx(undefined, "test"),
    async close() {
      try {
        await assertNoSecretLeaked(runtime, outboxDir);
      } finally {
        await runtime.close();
        await dropDatabase?.();
        rmSync(outboxDir, { recursive: true, force: true });
      }
    },
  };
}
