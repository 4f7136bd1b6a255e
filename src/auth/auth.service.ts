import { sql } from "drizzle-orm";
import { AppError, fieldError } from "../core/errors.ts";
import { type Db, rows } from "../store/db.ts";
import {
  csrfTokenFor,
  decoyPasswordHash,
  hashPassword,
  newApiToken,
  newSessionId,
  oneTimePassword,
  parseApiToken,
  passwordProblem,
  sameSecret,
  sha256,
  verifyPassword,
} from "./credentials.ts";
import { isRole, type Permission, permissionsOf, type Role, roles } from "./permissions.ts";

/** Who is acting. Accounts sign in to the web; tokens are for scripts; `local` is the CLI on the store itself. */
export interface Principal {
  kind: "account" | "token" | "local";
  /** The account's or token's id (`local` for the local operator). */
  id: string;
  name: string;
  role: Role;
  mustChangePassword: boolean;
}

/** What the API shows of a principal. */
export interface PrincipalView {
  kind: Principal["kind"];
  name: string;
  role: Role;
  permissions: Permission[];
}

/** Who acts and from where, as the audit log records it. */
export interface Acting {
  actor: string;
  source: string;
}

export const SESSION_IDLE_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
/** last_seen_at is written at most this often, so reads do not each cost a write. */
const TOUCH_MS = 60 * 1000;

export function viewOf(p: Principal): PrincipalView {
  return { kind: p.kind, name: p.name, role: p.role, permissions: permissionsOf(p.role) };
}

/** The audit log's name for a principal: `account:NAME`, `token:NAME/ID` or `local:OSUSER`. */
export function actorOf(p: Principal): string {
  if (p.kind === "account") return `account:${p.name}`;
  if (p.kind === "token") return `token:${p.name}/${p.id}`;
  return p.name;
}

async function auditInstallation(
  db: Db,
  by: Acting,
  operation: string,
  targetType: string,
  targetId: string,
  after: Record<string, unknown>,
): Promise<void> {
  await db.execute(sql`insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, after)
    values (null, ${by.actor}, ${by.source}, ${operation}, ${targetType}, ${targetId}, ${JSON.stringify(after)}::jsonb)`);
}

function roleOf(value: string): Role {
  if (!isRole(value)) throw new AppError("invalid_input", `"${value}" is not a role: use one of ${roles.join(", ")}.`);
  return value;
}

const unauthenticatedMessage =
  "Sign in first: send an API token (header Authorization: Bearer cpt_…; for the CLI, --token or CALLPLANE_TOKEN), or sign in to the web admin center.";

export function unauthenticated(message = unauthenticatedMessage): AppError {
  return new AppError("unauthenticated", message);
}

// ---------------------------------------------------------------------------------------------
// API tokens

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface TokenRow {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_by: string;
  created_at: Date | string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function tokenView(r: TokenRow): TokenView {
  return {
    id: r.id,
    name: r.name,
    role: roleOf(r.role),
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}

/** Creates an API token. The token itself is in the answer once and never again. */
export async function createApiToken(
  db: Db,
  by: Acting,
  input: { name: string; role: string; expiresInMs?: number },
): Promise<{ token: string; tokenInfo: TokenView }> {
  const name = input.name.trim();
  if (!name) throw fieldError("body.name", "The token needs a name, e.g. the script or integration that uses it.");
  const role = roleOf(input.role);
  const t = newApiToken();
  const expiresAt = input.expiresInMs ? new Date(Date.now() + input.expiresInMs) : null;
  return db.transaction(async (tx) => {
    const [row] = await rows<TokenRow>(
      tx as unknown as Db,
      sql`insert into api_tokens (id, name, role, secret_hash, created_by, expires_at)
          values (${t.id}, ${name}, ${role}, ${t.secretHash}, ${by.actor}, ${expiresAt?.toISOString() ?? null})
          returning *`,
    );
    if (!row) throw new AppError("internal", "The token was not created.");
    await auditInstallation(tx as unknown as Db, by, "auth.token.create", "token", t.id, {
      name,
      role,
      expiresAt: expiresAt?.toISOString() ?? null,
    });
    return { token: t.token, tokenInfo: tokenView(row) };
  });
}

export async function listApiTokens(db: Db): Promise<TokenView[]> {
  return (await rows<TokenRow>(db, sql`select * from api_tokens order by created_at, id`)).map(tokenView);
}

/** Revokes a token: it stops working at once. Revoking a revoked token changes nothing. */
export async function revokeApiToken(db: Db, by: Acting, id: string): Promise<TokenView> {
  return db.transaction(async (tx) => {
    const [row] = await rows<TokenRow>(tx as unknown as Db, sql`select * from api_tokens where id = ${id} for update`);
    if (!row) throw new AppError("not_found", `No API token has the id ${id}: list them with \`callplane tokens list\`.`);
    if (row.revoked_at) return tokenView(row);
    const [updated] = await rows<TokenRow>(tx as unknown as Db, sql`update api_tokens set revoked_at = now() where id = ${id} returning *`);
    await auditInstallation(tx as unknown as Db, by, "auth.token.revoke", "token", id, { name: row.name });
    return tokenView(updated ?? row);
  });
}

/** The principal of an API token, or `unauthenticated` (unknown, wrong secret, revoked or expired). */
export async function authenticateToken(db: Db, token: string): Promise<Principal> {
  const parsed = parseApiToken(token);
  if (!parsed) throw unauthenticated("The API token is not valid: it should look like cpt_<id>_<secret>.");
  const [row] = await rows<TokenRow>(db, sql`select * from api_tokens where id = ${parsed.id}`);
  if (!row || !sameSecret(sha256(parsed.secret), row.secret_hash)) throw unauthenticated("The API token is not valid.");
  if (row.revoked_at) throw unauthenticated(`The API token ${row.id} (${row.name}) was revoked: ask an administrator for a new one.`);
  if (row.expires_at && new Date(row.expires_at).getTime() <= Date.now()) {
    throw unauthenticated(`The API token ${row.id} (${row.name}) has expired: ask an administrator for a new one.`);
  }
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > TOUCH_MS) {
    await db.execute(sql`update api_tokens set last_used_at = now() where id = ${row.id}`);
  }
  return { kind: "token", id: row.id, name: row.name, role: roleOf(row.role), mustChangePassword: false };
}

// ---------------------------------------------------------------------------------------------
// Accounts

export interface AccountView {
  id: string;
  name: string;
  role: Role;
  mustChangePassword: boolean;
  disabled: boolean;
  createdBy: string;
  createdAt: string;
}

interface AccountRow {
  id: string;
  name: string;
  role: string;
  password_hash: string;
  must_change_password: boolean;
  disabled_at: Date | string | null;
  created_by: string;
  created_at: Date | string;
}

function accountView(r: AccountRow): AccountView {
  return {
    id: r.id,
    name: r.name,
    role: roleOf(r.role),
    mustChangePassword: r.must_change_password,
    disabled: r.disabled_at !== null,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

async function accountByName(db: Db, name: string): Promise<AccountRow> {
  const [row] = await rows<AccountRow>(db, sql`select * from accounts where lower(name) = ${name.trim().toLowerCase()}`);
  if (!row) throw new AppError("not_found", `No account is named "${name}": list them with \`callplane accounts list\`.`);
  return row;
}

/**
 * Creates an account. Without a password a one-time one is generated, returned once, and must be
 * changed at the first sign-in.
 */
export async function createAccount(
  db: Db,
  by: Acting,
  input: { name: string; role: string; password?: string },
): Promise<{ account: AccountView; oneTimePassword: string | null }> {
  const name = input.name.trim();
  if (!ACCOUNT_NAME.test(name)) {
    throw fieldError("body.name", `"${input.name}" is not an account name: use letters, digits and . _ @ - (at most 128).`);
  }
  const role = roleOf(input.role);
  const generated = input.password === undefined ? oneTimePassword() : null;
  const password = input.password ?? generated ?? "";
  const problem = passwordProblem(password);
  if (problem) throw fieldError("body.password", problem);
  const hash = await hashPassword(password);
  return db.transaction(async (tx) => {
    const [row] = await rows<AccountRow>(
      tx as unknown as Db,
      sql`insert into accounts (name, role, password_hash, must_change_password, created_by)
          values (${name}, ${role}, ${hash}, ${generated !== null}, ${by.actor}) returning *`,
    );
    if (!row) throw new AppError("internal", "The account was not created.");
    await auditInstallation(tx as unknown as Db, by, "auth.account.create", "account", row.id, { name, role });
    return { account: accountView(row), oneTimePassword: generated };
  });
}

export async function listAccounts(db: Db): Promise<AccountView[]> {
  return (await rows<AccountRow>(db, sql`select * from accounts order by lower(name)`)).map(accountView);
}

/** Changes an account's role or disables (or re-enables) it; disabling ends its sessions. */
export async function updateAccount(db: Db, by: Acting, name: string, input: { role?: string; disabled?: boolean }): Promise<AccountView> {
  const role = input.role === undefined ? undefined : roleOf(input.role);
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const row = await accountByName(t, name);
    if (by.actor === `account:${row.name}` && (input.disabled === true || (role && role !== row.role))) {
      throw new AppError("invalid_input", "You cannot disable your own account or change your own role: ask another global administrator.");
    }
    const [updated] = await rows<AccountRow>(
      t,
      sql`update accounts set
            role = coalesce(${role ?? null}, role),
            disabled_at = case when ${input.disabled ?? null}::boolean is null then disabled_at
                               when ${input.disabled ?? null}::boolean then coalesce(disabled_at, now()) else null end,
            updated_at = now()
          where id = ${row.id} returning *`,
    );
    if (!updated) throw new AppError("internal", "The account was not changed.");
    if (input.disabled) await t.execute(sql`delete from sessions where account_id = ${row.id}`);
    await auditInstallation(t, by, "auth.account.update", "account", row.id, {
      name: row.name,
      ...(role ? { role } : {}),
      ...(input.disabled === undefined ? {} : { disabled: input.disabled }),
    });
    return accountView(updated);
  });
}

/** Gives an account a new one-time password (shown once), ends its sessions, and makes it change the password. */
export async function resetAccountPassword(db: Db, by: Acting, name: string): Promise<{ account: AccountView; oneTimePassword: string }> {
  const password = oneTimePassword();
  const hash = await hashPassword(password);
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const row = await accountByName(t, name);
    const [updated] = await rows<AccountRow>(
      t,
      sql`update accounts set password_hash = ${hash}, must_change_password = true, updated_at = now()
          where id = ${row.id} returning *`,
    );
    if (!updated) throw new AppError("internal", "The password was not reset.");
    await t.execute(sql`delete from sessions where account_id = ${row.id}`);
    await t.execute(sql`delete from sign_in_failures where key = ${`user:${row.name.toLowerCase()}`}`);
    await auditInstallation(t, by, "auth.account.reset-password", "account", row.id, { name: row.name });
    return { account: accountView(updated), oneTimePassword: password };
  });
}

/**
 * On a store with no account, creates `admin` (global administrator). With `password` (from
 * CALLPLANE_ADMIN_PASSWORD) that is its password; otherwise a one-time password is generated and
 * returned once, to be changed at the first sign-in.
 */
export async function ensureFirstAdmin(db: Db, password?: string): Promise<{ name: string; oneTimePassword: string | null } | undefined> {
  const [any] = await rows<{ id: string }>(db, sql`select id from accounts limit 1`);
  if (any) return undefined;
  const by = { actor: "system", source: "first run" };
  const { account, oneTimePassword } = await createAccount(db, by, { name: "admin", role: "global-admin", password });
  return { name: account.name, oneTimePassword };
}

// ---------------------------------------------------------------------------------------------
// Sign-in, sessions, passwords

const USER_LIMIT = 5;
const IP_LIMIT = 30;
const WINDOW_MS = 15 * 60 * 1000;
const MAX_BLOCK_MS = 15 * 60 * 1000;

/** Throws rate_limited when a key is blocked, saying when to try again. */
async function checkThrottle(db: Db, keys: string[]): Promise<void> {
  const blocked = await rows<{ until: Date | string }>(
    db,
    sql`select max(blocked_until) as until from sign_in_failures
        where key in (${sql.join(
          keys.map((k) => sql`${k}`),
          sql`, `,
        )}) and blocked_until > now()`,
  );
  const until = blocked[0]?.until;
  if (until) {
    const seconds = Math.max(1, Math.ceil((new Date(until).getTime() - Date.now()) / 1000));
    throw new AppError("rate_limited", `Too many failed sign-ins: try again in ${seconds} seconds.`, [
      { path: "retryAfter", message: String(seconds) },
    ]);
  }
}

/** Counts a failure per key; past the limit, each further failure doubles the wait (up to 15 minutes). */
async function recordFailure(db: Db, keys: { key: string; limit: number }[]): Promise<void> {
  for (const { key, limit } of keys) {
    await db.execute(sql`
      insert into sign_in_failures as f (key, failures, last_failure_at) values (${key}, 1, now())
      on conflict (key) do update set
        failures = case when f.last_failure_at < now() - make_interval(secs => ${WINDOW_MS / 1000}) then 1 else f.failures + 1 end,
        last_failure_at = now()`);
    await db.execute(sql`
      update sign_in_failures set blocked_until = now() + make_interval(secs => least(${MAX_BLOCK_MS / 1000}, power(2, failures - ${limit})::int))
      where key = ${key} and failures >= ${limit}`);
  }
}

export interface SignedIn {
  sessionId: string;
  csrfToken: string;
  principal: Principal;
}

/**
 * Checks a username and password, slowing down repeated failures per username and per source
 * (`ip:ADDRESS`), and opens a session.
 */
export async function signIn(db: Db, input: { username: string; password: string }, source: string): Promise<SignedIn> {
  const userKey = `user:${input.username.trim().toLowerCase()}`;
  const ipKey = source;
  await checkThrottle(db, [userKey, ipKey]);
  const [row] = await rows<AccountRow>(db, sql`select * from accounts where lower(name) = ${input.username.trim().toLowerCase()}`);
  const ok = await verifyPassword(input.password, row?.password_hash ?? decoyPasswordHash);
  if (!row || !ok || row.disabled_at) {
    await recordFailure(db, [
      { key: userKey, limit: USER_LIMIT },
      { key: ipKey, limit: IP_LIMIT },
    ]);
    throw unauthenticated("The username or password is wrong (or the account is disabled).");
  }
  await db.execute(sql`delete from sign_in_failures where key = ${userKey}`);
  const sessionId = newSessionId();
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into sessions (id_hash, account_id, expires_at, source)
      values (${sha256(sessionId)}, ${row.id}, ${new Date(Date.now() + SESSION_ABSOLUTE_MS).toISOString()}, ${source})`);
    // Expired sessions of anyone are swept now and then, on sign-in.
    await tx.execute(
      sql`delete from sessions where expires_at < now() or last_seen_at < now() - make_interval(secs => ${SESSION_IDLE_MS / 1000})`,
    );
    await auditInstallation(tx as unknown as Db, { actor: `account:${row.name}`, source }, "auth.sign-in", "account", row.id, {
      name: row.name,
    });
  });
  return {
    sessionId,
    csrfToken: csrfTokenFor(sessionId),
    principal: { kind: "account", id: row.id, name: row.name, role: roleOf(row.role), mustChangePassword: row.must_change_password },
  };
}

/** The principal of a session cookie, or `unauthenticated` when it is unknown, idle too long or too old. */
export async function authenticateSession(db: Db, sessionId: string): Promise<{ principal: Principal; csrfToken: string }> {
  const [row] = await rows<AccountRow & { last_seen_at: Date | string; expires_at: Date | string }>(
    db,
    sql`select a.*, s.last_seen_at, s.expires_at from sessions s join accounts a on a.id = s.account_id
        where s.id_hash = ${sha256(sessionId)}`,
  );
  if (!row || row.disabled_at) throw unauthenticated("The session has ended: sign in again.");
  const now = Date.now();
  const lastSeen = new Date(row.last_seen_at).getTime();
  if (new Date(row.expires_at).getTime() <= now || now - lastSeen > SESSION_IDLE_MS) {
    await db.execute(sql`delete from sessions where id_hash = ${sha256(sessionId)}`);
    throw unauthenticated("The session has expired: sign in again.");
  }
  if (now - lastSeen > TOUCH_MS) await db.execute(sql`update sessions set last_seen_at = now() where id_hash = ${sha256(sessionId)}`);
  return {
    principal: { kind: "account", id: row.id, name: row.name, role: roleOf(row.role), mustChangePassword: row.must_change_password },
    csrfToken: csrfTokenFor(sessionId),
  };
}

export async function signOut(db: Db, by: Acting, sessionId: string, accountId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from sessions where id_hash = ${sha256(sessionId)}`);
    await auditInstallation(tx as unknown as Db, by, "auth.sign-out", "account", accountId, {});
  });
}

/** Changes the signed-in account's own password; other sessions of the account end. */
export async function changePassword(
  db: Db,
  by: Acting,
  principal: Principal,
  input: { currentPassword: string; newPassword: string },
  keepSessionId?: string,
): Promise<void> {
  if (principal.kind !== "account") {
    throw new AppError("invalid_input", "Only an account has a password: API tokens and the local operator do not.");
  }
  const [row] = await rows<AccountRow>(db, sql`select * from accounts where id = ${principal.id}`);
  if (!row || !(await verifyPassword(input.currentPassword, row.password_hash))) {
    throw new AppError("invalid_input", "The current password is wrong.", [{ path: "body.currentPassword", message: "is wrong" }]);
  }
  const problem = passwordProblem(input.newPassword);
  if (problem) throw new AppError("invalid_input", problem, [{ path: "body.newPassword", message: problem }]);
  if (input.newPassword === input.currentPassword) {
    throw new AppError("invalid_input", "The new password must differ from the current one.", [
      { path: "body.newPassword", message: "is the current password" },
    ]);
  }
  const hash = await hashPassword(input.newPassword);
  await db.transaction(async (tx) => {
    await tx.execute(
      sql`update accounts set password_hash = ${hash}, must_change_password = false, updated_at = now() where id = ${row.id}`,
    );
    await tx.execute(
      sql`delete from sessions where account_id = ${row.id} ${keepSessionId ? sql`and id_hash <> ${sha256(keepSessionId)}` : sql``}`,
    );
    await auditInstallation(tx as unknown as Db, by, "auth.password.change", "account", row.id, { name: row.name });
  });
}
