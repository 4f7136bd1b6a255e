import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { auditRoutes } from "../audit/audit.routes.ts";
import { authRoutes } from "../auth/auth.routes.ts";
import { type Acting, actorOf, unauthenticated } from "../auth/auth.service.ts";
import { installAccessControl, type LocalOperator, securityHeaders, sourceOf } from "../auth/http-auth.ts";
import { permissionsOf } from "../auth/permissions.ts";
import { conferencingRoutes } from "../conferencing/conferencing.routes.ts";
import type { Ctx } from "../core/context.ts";
import { AppError, translateError } from "../core/errors.ts";
import { dashboardRoutes } from "../dashboard/dashboard.routes.ts";
import { demoRoutes } from "../demo/demo.routes.ts";
import { userRoutes } from "../directory/users.routes.ts";
import { hybridRoutes } from "../hybrid/hybrid.routes.ts";
import { jobRoutes } from "../jobs/jobs.routes.ts";
import { licensingRoutes } from "../licensing/licensing.routes.ts";
import { mailRoutes } from "../notify/mail.routes.ts";
import type { Runtime } from "../runtime.ts";
import { tenantRoutes } from "../tenancy/tenant.routes.ts";
import { publishRoutes } from "../voice/kamailio/publish.routes.ts";
import { voiceRoutes } from "../voice/voice.routes.ts";
import type { Api } from "./types.ts";
import { registerWeb } from "./web.ts";

export interface ServerOptions {
  logger?: boolean;
  /** Where log lines go when logging (default: stdout); tests capture them to check no secret is logged. */
  logStream?: { write(line: string): void };
  /**
   * The in-process CLI only: requests that carry this key act as the local operator. Never set for a
   * server that listens; such requests are refused once it does.
   */
  localOperator?: LocalOperator;
  /**
   * Addresses of reverse proxies whose X-Forwarded-For is believed (e.g. `127.0.0.1` or `10.0.0.0/8`),
   * so the audit log and the sign-in slow-down see the client's address, not the proxy's. Unset: none.
   */
  trustProxy?: string[];
  /** What a client may hold open on a listening server; `httpLimits` gives the defaults. */
  limits?: Partial<HttpLimits>;
}

/** Bounds on what a client may hold open on a listening server (no effect on in-process `inject`). */
export interface HttpLimits {
  /** Time to receive a whole request, headers and body: a request that trickles in is answered 408 and closed. */
  requestTimeoutMs: number;
  /** Time to receive the headers (at most `requestTimeoutMs`). */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection is kept: above the 60 s idle timeout of common proxies and load balancers. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed as they come. */
  maxConnections: number;
  /** Requests served on one connection before it is closed (the client reconnects). */
  maxRequestsPerSocket: number;
}

/**
 * The defaults: a minute for a whole request (a 64 MiB directory import needs about 9 Mbit/s; raise it
 * with `serve --request-timeout` for slower links), 15 s for headers, 1,000 connections.
 */
export const httpLimits: HttpLimits = {
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 1000,
  maxRequestsPerSocket: 1000,
};

/** The service context of a request: its tenant (X-Callplane-Tenant), its principal and where it came from. */
export type CtxOf = (req: FastifyRequest) => Promise<Ctx>;

/** Who acts and from where, for services that take no tenant (tenants, accounts, tokens). */
export type ActingOf = (req: FastifyRequest) => Acting;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * What the log may hold of an unexpected error: its kind, code, message and stack, never a failed
 * query's parameters (they can be password, token or PIN hashes).
 */
export function loggableError(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; code?: unknown; message?: string; stack?: string; cause?: { code?: unknown; message?: string } };
  const strip = (text: string | undefined) => (text ?? "").split(/\nparams: /)[0];
  return {
    type: e?.name,
    code: e?.cause?.code ?? e?.code,
    message: strip(e?.message),
    cause: e?.cause?.message,
    stack: (e?.stack ?? "").replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, ""),
  };
}

/** Builds the HTTP API: every route calls one service function; errors become one envelope. */
export async function buildServer(runtime: Runtime, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = { ...httpLimits, ...opts.limits };
  const app = Fastify({
    logger:
      opts.logger || opts.logStream
        ? {
            level: "info",
            redact: ["req.headers.authorization", "req.headers.cookie", 'req.headers["x-csrf-token"]', 'req.headers["x-callplane-local"]'],
            ...(opts.logStream ? { stream: opts.logStream } : {}),
          }
        : false,
    bodyLimit: 1024 * 1024,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks the two timeouts at this interval (30 s by default): a timeout is kept to within a second.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.requestTimeoutMs / 4))),
    },
    // Long enough for every path parameter's own limit (512) to answer with a field-level message.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: opts.trustProxy && opts.trustProxy.length > 0 ? opts.trustProxy : false,
    genReqId: () => randomUUID(),
    // Refusals the router makes before any hook runs: the same envelope and headers as the rest.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      const tooLong = err.code === "FST_ERR_MAX_PARAM_LENGTH";
      for (const [k, v] of Object.entries(securityHeaders)) reply.header(k, v);
      void reply.status(tooLong ? 414 : 400).send({
        error: {
          code: "invalid_input",
          message: tooLong
            ? "A part of the path is too long: no identity or name is that long."
            : "The path is not a valid URL: check its % escapes.",
          details: [],
        },
      });
    },
  });
  // JSON only: a body of any other type is refused (415) rather than parsed as text.
  app.removeContentTypeParser("text/plain");
  // A route that takes no body refuses one with content, so nothing sent is silently ignored.
  app.addHook("onRoute", (route) => {
    if (route.schema?.body || ["GET", "HEAD", "OPTIONS"].includes(String(route.method))) return;
    const refuse = async (req: FastifyRequest) => {
      const b = req.body;
      if (b === undefined || b === null || (typeof b === "object" && !Array.isArray(b) && Object.keys(b).length === 0)) return;
      throw new AppError("invalid_input", `${req.method} ${route.url} takes no request body: send none (or {}).`, [
        { path: "body", message: "is not expected" },
      ]);
    };
    route.preValidation = [
      ...(Array.isArray(route.preValidation) ? route.preValidation : route.preValidation ? [route.preValidation] : []),
      refuse,
    ];
  });
  app.server.maxConnections = limits.maxConnections;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Callplane API",
        description: "Enterprise voice and dial-in audio conferencing control plane.",
        version: "1",
      },
      tags: [
        { name: "auth" },
        { name: "tenants" },
        { name: "users" },
        { name: "licences" },
        { name: "conferencing" },
        { name: "jobs" },
        { name: "audit" },
      ],
      components: {
        securitySchemes: {
          apiToken: { type: "http", scheme: "bearer", description: "An API token, cpt_<id>_<secret> (callplane tokens create)" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "callplane_session",
            description: "The web admin center's session (POST /api/v1/auth/sign-in); changes also need the X-CSRF-Token header",
          },
        },
      },
      security: [{ apiToken: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });

  installAccessControl(app, runtime.store.db, opts.localOperator);

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
      if (e.code === "rate_limited") {
        const retry = e.details.find((d) => d.path === "retryAfter")?.message;
        if (retry) reply.header("retry-after", retry);
      }
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
    req.log.error({ err: loggableError(err) }, "unexpected error");
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

  // The principal comes from the access control hook, never from a header the client chooses.
  const actingOf: ActingOf = (req) => {
    if (!req.principal) throw unauthenticated();
    return { actor: actorOf(req.principal), source: sourceOf(req) };
  };
  const ctxOf: CtxOf = async (req) => {
    const by = actingOf(req);
    const ctx = await runtime.ctx(header(req, "x-callplane-tenant"), by.actor, by.source);
    return req.principal ? { ...ctx, permissions: new Set(permissionsOf(req.principal.role)) } : ctx;
  };

  await app.register(
    async (scope) => {
      const api: Api = scope.withTypeProvider<ZodTypeProvider>();
      authRoutes(api, runtime.store.db, actingOf);
      tenantRoutes(api, runtime, actingOf);
      userRoutes(api, ctxOf);
      licensingRoutes(api, ctxOf);
      conferencingRoutes(api, ctxOf);
      voiceRoutes(api, ctxOf);
      publishRoutes(api, ctxOf);
      jobRoutes(api, ctxOf);
      auditRoutes(api, ctxOf);
      mailRoutes(api, ctxOf);
      hybridRoutes(api, ctxOf);
      dashboardRoutes(api, ctxOf);
      demoRoutes(api, runtime, actingOf);
    },
    { prefix: "/api/v1" },
  );
  await registerWeb(app);

  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/healthz", { schema: { hide: true } }, async () => ({ ok: true, store: runtime.store.kind }));
  await app.ready();
  return app;
}
