import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { auditRoutes } from "../audit/audit.routes.ts";
import { conferencingRoutes } from "../conferencing/conferencing.routes.ts";
import type { Ctx } from "../core/context.ts";
import { AppError, translateError } from "../core/errors.ts";
import { dashboardRoutes } from "../dashboard/dashboard.routes.ts";
import { demoRoutes } from "../demo/demo.routes.ts";
import { userRoutes } from "../directory/users.routes.ts";
import { hybridRoutes } from "../hybrid/hybrid.routes.ts";
import { jobRoutes } from "../jobs/jobs.routes.ts";
import { licensingRoutes } from "../licensing/licensing.routes.ts";
import type { Runtime } from "../runtime.ts";
import { tenantRoutes } from "../tenancy/tenant.routes.ts";
import { voiceRoutes } from "../voice/voice.routes.ts";
import type { Api } from "./types.ts";

export interface ServerOptions {
  logger?: boolean;
  /** Who acts when a request does not say (until sign-in exists, the X-Callplane-Actor header says). */
  defaultActor?: string;
}

/** The service context of a request: its tenant (X-Callplane-Tenant) and actor. */
export type CtxOf = (req: FastifyRequest) => Promise<Ctx>;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Builds the HTTP API: every route calls one service function; errors become one envelope. */
export async function buildServer(runtime: Runtime, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ? { level: "info", redact: ["req.headers.authorization", "req.headers.cookie"] } : false,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Callplane API",
        description: "Enterprise voice and dial-in audio conferencing control plane.",
        version: "1",
      },
      tags: [{ name: "tenants" }, { name: "users" }, { name: "licences" }, { name: "conferencing" }, { name: "jobs" }, { name: "audit" }],
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation.map((v) => ({
        // The root of a part has instancePath "/": name the part alone ("body"), not "body.".
        path: `${err.validationContext ?? "body"}${v.instancePath && v.instancePath !== "/" ? v.instancePath.replaceAll("/", ".") : ""}`,
        message: v.message ?? "is not valid",
      }));
      return reply.status(400).send({
        error: {
          code: "invalid_input",
          message: `The request is not valid: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}.`,
          details,
        },
      });
    }
    const e = translateError(err);
    if (e instanceof AppError) {
      return reply.status(e.status).send({ error: { code: e.code, message: e.message, details: e.details } });
    }
    const fe = err as { statusCode?: number; code?: string; message?: string };
    if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Fastify's own refusals (broken JSON, body too large, wrong content type) keep their status.
      const message =
        fe.code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? "The request body is too large: send at most 1 MiB (64 MiB for a bulk move), or split the work."
          : fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
            ? "The request body must be JSON: send Content-Type: application/json."
            : `The request is not valid: ${fe.message ?? "it could not be read"}.`;
      return reply.status(fe.statusCode).send({ error: { code: "invalid_input", message, details: [] } });
    }
    req.log.error({ err }, "unexpected error");
    return reply.status(500).send({
      error: {
        code: "internal",
        message: `Something went wrong on the server (reference ${req.id}): the change was not made. Try again, or report the reference.`,
        details: [],
      },
    });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({
      error: {
        code: "not_found",
        message: `There is no ${req.method} ${req.url.split("?")[0]}: see /api/openapi.json for the API.`,
        details: [],
      },
    });
  });

  const ctxOf: CtxOf = async (req) =>
    runtime.ctx(header(req, "x-callplane-tenant"), header(req, "x-callplane-actor") ?? opts.defaultActor ?? "api");

  await app.register(
    async (scope) => {
      const api: Api = scope.withTypeProvider<ZodTypeProvider>();
      tenantRoutes(api, runtime);
      userRoutes(api, ctxOf);
      licensingRoutes(api, ctxOf);
      conferencingRoutes(api, ctxOf);
      voiceRoutes(api, ctxOf);
      jobRoutes(api, ctxOf);
      auditRoutes(api, ctxOf);
      hybridRoutes(api, ctxOf);
      dashboardRoutes(api, ctxOf);
      demoRoutes(api, runtime);
    },
    { prefix: "/api/v1" },
  );

  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/healthz", { schema: { hide: true } }, async () => ({ ok: true, store: runtime.store.kind }));
  await app.ready();
  return app;
}
