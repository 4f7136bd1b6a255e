// Authentication and authorization at the HTTP edge: every route under /api/ declares its access in
// permissions.ts; each request is authenticated (API token, session cookie, or the in-process local
// operator), CSRF-checked when the cookie carries it, and allowed or refused before its body is read.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../core/errors.ts";
import type { Db } from "../store/db.ts";
import { authenticateSession, authenticateToken, type Principal, unauthenticated } from "./auth.service.ts";
import { csrfTokenFor, sameSecret } from "./credentials.ts";
import { accessOf, allowedWhilePasswordChangeRequired, roleHas, rolesWith, routeKey } from "./permissions.ts";

export const SESSION_COOKIE = "callplane_session";

/** The in-process CLI: requests carrying `key` act as `name`, a global administrator. */
export interface LocalOperator {
  name: string;
  key: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request; null on public routes and before authentication. */
    principal: Principal | null;
    /** The session id from the cookie, when the cookie authenticated the request. */
    sessionId: string | null;
  }
}

/** The content security policy of every response (the web admin center has no inline script). */
export const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = headerOf(req, "cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(req: FastifyRequest, sessionId: string, maxAgeSeconds: number): string {
  const secure = req.protocol === "https" ? "; Secure" : "";
  return `${SESSION_COOKIE}=${sessionId}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`;
}

/** Where a request came from, as the audit log records it. */
export function sourceOf(req: FastifyRequest): string {
  return req.principal?.kind === "local" ? "cli:in-process" : `ip:${req.ip}`;
}

/** Headers on every response: no framing, no sniffing, no referrer, the content security policy. */
export const securityHeaders: Record<string, string> = {
  "content-security-policy": contentSecurityPolicy,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

function describe(p: Principal): string {
  return p.kind === "token" ? `The API token ${p.name}` : p.kind === "local" ? `The local operator ${p.name}` : `The account ${p.name}`;
}

/**
 * Installs the route check (every /api/ route must be in the permission table, or the server does
 * not start), the security headers, and the authentication and authorization of every request.
 */
export function installAccessControl(app: FastifyInstance, db: Db, localOperator?: LocalOperator): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("sessionId", null);

  app.addHook("onRoute", (route) => {
    if (!route.url.startsWith("/api/") || route.url === "/api/openapi.json") return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (accessOf(m, route.url) === undefined) {
        throw new Error(`The route ${routeKey(m, route.url)} has no permission: add it to routePermissions in src/auth/permissions.ts.`);
      }
    }
  });

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    for (const [k, v] of Object.entries(securityHeaders)) reply.header(k, v);
    if (req.url.startsWith("/api/")) reply.header("cache-control", "no-store");

    const url = req.routeOptions.url;
    if (!url?.startsWith("/api/")) return;
    const access = accessOf(req.method, url);
    if (access === undefined || access === "public") return;

    const authorization = headerOf(req, "authorization");
    const cookie = cookieOf(req, SESSION_COOKIE);
    const localKey = headerOf(req, "x-callplane-local");
    let viaCookie = false;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m?.[1]) throw unauthenticated("The Authorization header must be `Bearer <API token>`.");
      req.principal = await authenticateToken(db, m[1]);
    } else if (cookie) {
      const s = await authenticateSession(db, cookie);
      req.principal = s.principal;
      req.sessionId = cookie;
      viaCookie = true;
    } else if (localKey !== undefined && localOperator && !app.server.listening && sameSecret(localKey, localOperator.key)) {
      // Only code in this process knows the key, and never once the server listens on a socket.
      req.principal = { kind: "local", id: "local", name: localOperator.name, role: "global-admin", mustChangePassword: false };
    } else {
      throw unauthenticated();
    }

    if (viaCookie && !safeMethods.has(req.method)) {
      const sent = headerOf(req, "x-csrf-token");
      if (!sent || !sameSecret(sent, csrfTokenFor(cookie ?? ""))) {
        throw new AppError("csrf", "This change needs the X-CSRF-Token header the sign-in gave (reload the page to get it again).");
      }
    }
    const principal = req.principal;
    const key = routeKey(req.method, url);
    if (principal.mustChangePassword && !allowedWhilePasswordChangeRequired.has(key)) {
      throw new AppError(
        "password_change_required",
        "Change your password first (POST /api/v1/auth/password): this account was given a one-time password.",
      );
    }
    if (access !== "authenticated" && !roleHas(principal.role, access)) {
      throw new AppError(
        "forbidden",
        `${describe(principal)} (role ${principal.role}) may not do this: it needs the permission ${access}, which the roles ${rolesWith(access).join(", ")} have.`,
        [{ path: "permission", message: access }],
      );
    }
  });
}
