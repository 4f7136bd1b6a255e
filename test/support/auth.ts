import type { FastifyInstance, InjectOptions } from "fastify";
import { createApiToken } from "../../src/auth/auth.service.ts";
import type { Role } from "../../src/auth/permissions.ts";
import { buildServer, type ServerOptions } from "../../src/http/server.ts";
import type { Runtime } from "../../src/runtime.ts";
import { watchOutput } from "./leak-watch.ts";

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
