import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { AppError } from "../core/errors.ts";
import { type Api, errors } from "../http/types.ts";
import type { Db } from "../store/db.ts";
import {
  type Acting,
  changePassword,
  createAccount,
  createApiToken,
  listAccounts,
  listApiTokens,
  type Principal,
  resetAccountPassword,
  revokeApiToken,
  SESSION_ABSOLUTE_MS,
  signIn,
  signOut,
  TOKEN_DEFAULT_EXPIRY,
  unauthenticated,
  unlockAccount,
  updateAccount,
  viewOf,
} from "./auth.service.ts";
import { csrfTokenFor, PASSWORD_MAX } from "./credentials.ts";
import { SESSION_COOKIE, sessionCookie } from "./http-auth.ts";
import { permissions, roleDescriptions, rolePermissions, roles } from "./permissions.ts";

const tags = ["auth"];
const role = z.enum(roles);

export const principalView = z.object({
  kind: z.enum(["account", "token", "local"]),
  name: z.string(),
  role,
  permissions: z.array(z.enum(permissions)),
});

const sessionView = z.object({
  principal: principalView,
  /** Send as X-CSRF-Token with every POST, PUT, PATCH and DELETE made with the session cookie. */
  csrfToken: z.string().nullable().describe("send as X-CSRF-Token on every change made with the cookie; null without a cookie"),
  mustChangePassword: z.boolean(),
});

const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  role,
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  disabledAccount: z
    .string()
    .nullable()
    .describe(
      "the disabled account that made this token (directly or through its tokens): the token does not work while it stays disabled",
    ),
});

const accountView = z.object({
  id: z.string(),
  name: z.string(),
  role,
  mustChangePassword: z.boolean(),
  passwordExpiresAt: z.string().nullable().describe("when the one-time password stops working; null once the account chose its password"),
  disabled: z.boolean(),
  signInBlockedUntil: z
    .string()
    .nullable()
    .describe("sign-in to this account from some address is slowed down until then; null: from none. Clear with POST …/unlock"),
  createdBy: z.string(),
  createdAt: z.string(),
});

function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthenticated();
  return req.principal;
}

/** Sign-in, the session, sign-out and password change; API tokens and accounts (global administrators). */
export function authRoutes(api: Api, db: Db, actingOf: (req: FastifyRequest) => Acting): void {
  api.post(
    "/auth/sign-in",
    {
      schema: {
        tags,
        summary: "Sign in to the web admin center: sets the HttpOnly session cookie and returns the CSRF token",
        body: z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(1).max(PASSWORD_MAX) }),
        response: { 200: sessionView, ...errors },
      },
    },
    async (req, reply) => {
      let s: Awaited<ReturnType<typeof signIn>>;
      try {
        s = await signIn(db, req.body, `ip:${req.ip}`);
      } catch (err) {
        // For whoever watches the log: where refused sign-ins come from (never the name or password tried).
        if (err instanceof AppError) req.log.warn({ source: `ip:${req.ip}`, code: err.code }, "sign-in refused");
        throw err;
      }
      reply.header("set-cookie", sessionCookie(req, s.sessionId, SESSION_ABSOLUTE_MS / 1000));
      return { principal: viewOf(s.principal), csrfToken: s.csrfToken, mustChangePassword: s.principal.mustChangePassword };
    },
  );
  api.get(
    "/auth/session",
    {
      schema: {
        tags,
        summary: "Who is signed in, with their permissions (and the session's CSRF token)",
        response: { 200: sessionView, ...errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return {
        principal: viewOf(p),
        csrfToken: req.sessionId ? csrfTokenFor(req.sessionId) : null,
        mustChangePassword: p.mustChangePassword,
      };
    },
  );
  api.post(
    "/auth/sign-out",
    { schema: { tags, summary: "Sign out: ends the session and clears the cookie", response: { 204: z.null(), ...errors } } },
    async (req, reply) => {
      const p = principalOf(req);
      if (req.sessionId) await signOut(db, actingOf(req), req.sessionId, p.id);
      reply.header("set-cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      return reply.status(204).send(null);
    },
  );
  api.post(
    "/auth/password",
    {
      schema: {
        tags,
        summary: "Change the signed-in account's password (required after a one-time password)",
        body: z.strictObject({ currentPassword: z.string().min(1).max(PASSWORD_MAX), newPassword: z.string().min(1).max(PASSWORD_MAX) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await changePassword(db, actingOf(req), principalOf(req), req.body, req.sessionId ?? undefined);
      return reply.status(204).send(null);
    },
  );
  api.get(
    "/auth/roles",
    {
      schema: {
        tags,
        summary: "The roles and the permissions each holds",
        response: {
          200: z.array(z.object({ role, description: z.string(), permissions: z.array(z.enum(permissions)) })),
          ...errors,
        },
      },
    },
    async () => roles.map((r) => ({ role: r, description: roleDescriptions[r], permissions: [...rolePermissions[r]] })),
  );

  api.get(
    "/auth/tokens",
    { schema: { tags, summary: "List API tokens (never their secrets)", response: { 200: z.array(tokenView), ...errors } } },
    async () => listApiTokens(db),
  );
  api.post(
    "/auth/tokens",
    {
      schema: {
        tags,
        summary: "Create an API token: the token is in this answer once and never again",
        body: z.strictObject({
          name: z.string().min(1).max(128),
          role,
          expiresIn: z
            .string()
            .max(16)
            .optional()
            .describe(`e.g. 30d, 12h, 90m, at most 730d; never: the token does not expire; default ${TOKEN_DEFAULT_EXPIRY}`),
        }),
        response: { 201: z.object({ token: z.string(), tokenInfo: tokenView }), ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createApiToken(db, actingOf(req), req.body)),
  );
  api.delete(
    "/auth/tokens/:id",
    {
      schema: {
        tags,
        summary: "Revoke an API token: it stops working at once",
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: tokenView, ...errors },
      },
    },
    async (req) => revokeApiToken(db, actingOf(req), req.params.id),
  );

  api.get(
    "/auth/accounts",
    { schema: { tags, summary: "List accounts (never their passwords)", response: { 200: z.array(accountView), ...errors } } },
    async () => listAccounts(db),
  );
  api.post(
    "/auth/accounts",
    {
      schema: {
        tags,
        summary:
          "Create an account; without a password, a one-time password (working for 72 hours) is returned once and must be changed at sign-in",
        body: z.strictObject({ name: z.string().min(1).max(128), role, password: z.string().min(1).max(PASSWORD_MAX).optional() }),
        response: { 201: z.object({ account: accountView, oneTimePassword: z.string().nullable() }), ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createAccount(db, actingOf(req), req.body)),
  );
  api.patch(
    "/auth/accounts/:name",
    {
      schema: {
        tags,
        summary: "Change an account's role, or disable or re-enable it (disabling ends its sessions and stops the API tokens it made)",
        params: z.object({ name: z.string().min(1).max(128) }),
        body: z.strictObject({ role: role.optional(), disabled: z.boolean().optional() }),
        response: { 200: accountView, ...errors },
      },
    },
    async (req) => updateAccount(db, actingOf(req), req.params.name, req.body),
  );
  api.post(
    "/auth/accounts/:name/reset-password",
    {
      schema: {
        tags,
        summary:
          "Give an account a one-time password (returned once, working for 72 hours), end its sessions, and make it choose a new one",
        params: z.object({ name: z.string().min(1).max(128) }),
        response: { 200: z.object({ account: accountView, oneTimePassword: z.string() }), ...errors },
      },
    },
    async (req) => resetAccountPassword(db, actingOf(req), req.params.name),
  );
  api.post(
    "/auth/accounts/:name/unlock",
    {
      schema: {
        tags,
        summary: "Clear the sign-in slow-down of an account from every address, so it can sign in again at once",
        params: z.object({ name: z.string().min(1).max(128) }),
        response: { 200: z.object({ account: accountView, addresses: z.number().int() }), ...errors },
      },
    },
    async (req) => unlockAccount(db, actingOf(req), req.params.name),
  );
}
