import type { FastifyInstance, InjectOptions } from "fastify";
import { createApiToken } from "../../src/auth/auth.service.ts";
import type { Role } from "../../src/auth/permissions.ts";
import { buildServer, type ServerOptions } from "../../src/http/server.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { watchOutput } from "./leak-watch.ts";
import { createTestDatabase } from "./store.ts";

/**
 * Hashes passwords of this test file at a lower scrypt cost (2^14 instead of 2^17), for files that
 * create many accounts. credentials.ts reads CALLPLANE_TEST_SCRYPT_N only under vitest.
 */
export function lowerPasswordCostForTests(): void {
  process.env.CALLPLANE_TEST_SCRYPT_N = String(2 ** 14);
}

/** Runs `fn` with the production scrypt cost, for a test about the cost itself. */
export async function withRealPasswordCost<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.CALLPLANE_TEST_SCRYPT_N;
  delete process.env.CALLPLANE_TEST_SCRYPT_N;
  try {
    return await fn();
  } finally {
    if (saved !== undefined) process.env.CALLPLANE_TEST_SCRYPT_N = saved;
  }
}

/**
 * Two API nodes on one fresh, empty store: two runtimes on a new PostgreSQL database when DATABASE_URL
 * is set; on PGlite (one process per data folder) the same runtime twice.
 */
export async function openTwoNodes(): Promise<{ nodes: [Runtime, Runtime]; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const rt = await openRuntime({ memory: true });
    return { nodes: [rt, rt], close: () => rt.close() };
  }
  const db = await createTestDatabase("cp_nodes");
  // One after the other: the first applies the migrations.
  const a = await openRuntime({ databaseUrl: db.url });
  const b = await openRuntime({ databaseUrl: db.url });
  return {
    nodes: [a, b],
    async close() {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    },
  };
}

/** An API token with this role, created through the service as a global administrator would. */
export async function tokenFor(rt: Runtime, role: Role = "global-admin", name = `test-${role}`): Promise<string> {
  const { token } = await createApiToken(rt.store.db, { actor: "local:test", source: "cli:in-process" }, { name, role });
  return token;
}

/**
 * The real server, with every inject signed by an API token of `role` (a request that sets its own
 * Authorization header keeps it). For route tests that are about something other than access control.
 */
export async function buildTestServer(rt: Runtime, role: Role = "global-admin", opts: ServerOptions = {}): Promise<FastifyInstance> {
  const app = await buildServer(rt, opts);
  const token = await tokenFor(rt, role);
  const inject = app.inject.bind(app) as (o: InjectOptions) => ReturnType<FastifyInstance["inject"]>;
  const signed = (o: InjectOptions | string) => {
    const opts2: InjectOptions = typeof o === "string" ? { url: o } : o;
    return inject({ ...opts2, headers: { authorization: `Bearer ${token}`, ...(opts2.headers ?? {}) } }).then((res) => {
      watchOutput(`${JSON.stringify(res.headers)}\n${res.body}`);
      return res;
    });
  };
  (app as unknown as { inject: typeof signed }).inject = signed;
  return app;
}
