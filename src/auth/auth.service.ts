import { sql } from "drizzle-orm";
import { AppError, fieldError } from "../core/errors.ts";
import { type Db, rows } from "../store/db.ts";
import {
  csrfTokenFor,
  decoyPasswordHash,
  hashPassword,
  needsRehash,
  newApiToken,
  newSessionId,
  oneTimePassword,
  parseApiToken,
  parseDuration,
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
  /** The disabled account that made the token (directly or through tokens it made): the token does not work while it stays disabled. */
  disabledAccount: string | null;
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
  disabled_account?: string | null;
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
    disabledAccount: r.disabled_account ?? null,
  };
}

/**
 * A token's columns, and the name of a disabled account that made it, if any: created_by names the
 * maker, `account:NAME`, or `token:NAME/ID` for a token made with another token, followed up the chain.
 */
const tokenColumns = sql`t.*, (
    with recursive chain (created_by, depth) as (
      select t.created_by, 0
      union all
      select p.created_by, c.depth + 1 from chain c join api_tokens p on c.created_by like 'token:%' and p.id = right(c.created_by, 12)
      where c.depth < 20
    )
    select a.name from chain c join accounts a on c.created_by like 'account:%' and lower(a.name) = lower(substr(c.created_by, 9))
    where a.disabled_at is not null limit 1
  ) as disabled_account`;

/** A new token lasts this long unless told otherwise (`never` for no expiry). */
export const TOKEN_DEFAULT_EXPIRY = "90d";
const TOKEN_MAX_DAYS = 730;

/** When a token created now expires: `expiresIn` is a duration (30d, 12h, 90m), `never`, or omitted for 90 days. */
export function tokenExpiry(expiresIn: string | undefined, now = Date.now()): Date | null {
  const text = (expiresIn ?? TOKEN_DEFAULT_EXPIRY).trim();
  if (text.toLowerCase() === "never") return null;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw fieldError(
      "body.expiresIn",
      `"${text}" is not a duration: give one such as 90d, 12h or 30m, or never for a token that does not expire.`,
    );
  }
  if (ms > TOKEN_MAX_DAYS * 86_400_000) {
    throw fieldError(
      "body.expiresIn",
      `"${text}" is too long: a token may last at most ${TOKEN_MAX_DAYS} days; give never for a token that does not expire.`,
    );
  }
  return new Date(now + ms);
}

/**
 * Creates an API token, expiring after `expiresIn` (default 90 days; `never`: no expiry). The token
 * itself is in the answer once and never again.
 */
export async function createApiToken(
  db: Db,
  by: Acting,
  input: { name: string; role: string; expiresIn?: string },
): Promise<{ token: string; tokenInfo: TokenView }> {
  const name = input.name.trim();
  if (!name) throw fieldError("body.name", "The token needs a name, e.g. the script or integration that uses it.");
  const role = roleOf(input.role);
  const expiresAt = tokenExpiry(input.expiresIn);
  const t = newApiToken();
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
  return (await rows<TokenRow>(db, sql`select ${tokenColumns} from api_tokens t order by t.created_at, t.id`)).map(tokenView);
}

/** Revokes a token: it stops working at once. Revoking a revoked token changes nothing. */
export async function revokeApiToken(db: Db, by: Acting, id: string): Promise<TokenView> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const [row] = await rows<TokenRow>(t, sql`select ${tokenColumns} from api_tokens t where t.id = ${id} for update of t`);
    if (!row) throw new AppError("not_found", `No API token has the id ${id}: list them with \`callplane tokens list\`.`);
    if (row.revoked_at) return tokenView(row);
    const [updated] = await rows<{ revoked_at: Date | string }>(
      t,
      sql`update api_tokens set revoked_at = now() where id = ${id} returning revoked_at`,
    );
    await auditInstallation(t, by, "auth.token.revoke", "token", id, { name: row.name });
    return tokenView({ ...row, revoked_at: updated?.revoked_at ?? new Date() });
  });
}

/**
 * The principal of an API token, or `unauthenticated` (unknown, wrong secret, revoked, expired, or made
 * by an account that is now disabled, directly or through tokens it made).
 */
export async function authenticateToken(db: Db, token: string): Promise<Principal> {
  const parsed = parseApiToken(token);
  if (!parsed) throw unauthenticated("The API token is not valid: it should look like cpt_<id>_<secret>.");
  const [row] = await rows<TokenRow>(db, sql`select ${tokenColumns} from api_tokens t where t.id = ${parsed.id}`);
  if (!row || !sameSecret(sha256(parsed.secret), row.secret_hash)) throw unauthenticated("The API token is not valid.");
  if (row.revoked_at) throw unauthenticated(`The API token ${row.id} (${row.name}) was revoked: ask an administrator for a new one.`);
  if (row.expires_at && new Date(row.expires_at).getTime() <= Date.now()) {
    throw unauthenticated(`The API token ${row.id} (${row.name}) has expired: ask an administrator for a new one.`);
  }
  if (row.disabled_account) {
    throw unauthenticated(
      `The API token ${row.id} (${row.name}) was made by the account ${row.disabled_account}, which is disabled: ask an administrator for a new token.`,
    );
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
  /** When the account's one-time password stops working (null: the account chose its password). */
  passwordExpiresAt: string | null;
  disabled: boolean;
  /** Until when sign-in to this account is slowed down from some address (null: from none); cleared by unlockAccount. */
  signInBlockedUntil: string | null;
  createdBy: string;
  createdAt: string;
}

interface AccountRow {
  id: string;
  name: string;
  role: string;
  password_hash: string;
  must_change_password: boolean;
  password_expires_at: Date | string | null;
  disabled_at: Date | string | null;
  created_by: string;
  created_at: Date | string;
  sign_in_blocked_until?: Date | string | null;
}

function accountView(r: AccountRow): AccountView {
  return {
    id: r.id,
    name: r.name,
    role: roleOf(r.role),
    mustChangePassword: r.must_change_password,
    passwordExpiresAt: iso(r.password_expires_at),
    disabled: r.disabled_at !== null,
    signInBlockedUntil: iso(r.sign_in_blocked_until ?? null),
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** A one-time password (a new account's, or after a reset) stops working after this long. */
export const ONE_TIME_PASSWORD_MS = 72 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// The sign-in slow-down: per account name and address, so an anonymous client can slow down only
// its own guesses, never the account's owner signing in from elsewhere. Names that are no account
// also count per address, so one client cannot have the server run scrypt for name after name;
// once that count is past its limit, unknown names from the address wait while accounts do not,
// which tells that client which names exist: a cost judged smaller than locking the accounts out.

/** Attempts per account and address before the waits begin. */
const PAIR_LIMIT = 5;
/** Attempts with names that are no account, per address, before the waits begin. */
const ADDRESS_LIMIT = 30;
/** The first wait; each further attempt doubles it, up to MAX_WAIT_S. */
const FIRST_WAIT_S = 30;
const MAX_WAIT_S = 15 * 60;
/** The count starts again after this long without an attempt. */
const QUIET_S = 60 * 60;

/**
 * The slow-down's key for an account name (known or not, answered alike) and an address. An account
 * name has no `|`; one typed at sign-in has it escaped, so no key of another name starts `pair:NAME|`.
 */
function pairKey(username: string, source: string): string {
  return `pair:${username.trim().toLowerCase().replaceAll("|", "%7C")}|${source}`;
}

/** The start of every key of one account name, whatever the address. */
function pairPrefix(name: string): string {
  return `pair:${name.trim().toLowerCase()}|`;
}

/** An account's columns, and the latest running wait of sign-ins to it from any address (with `left`: LIKE would read `_` in a name as a wildcard). */
const accountColumns = sql`a.*, (select max(f.blocked_until) from sign_in_failures f
    where left(f.key, length('pair:' || lower(a.name) || '|')) = 'pair:' || lower(a.name) || '|' and f.blocked_until > now()
  ) as sign_in_blocked_until`;

async function accountByName(db: Db, name: string): Promise<AccountRow> {
  const [row] = await rows<AccountRow>(
    db,
    sql`select ${accountColumns} from accounts a where lower(a.name) = ${name.trim().toLowerCase()}`,
  );
  if (!row) throw new AppError("not_found", `No account is named "${name}": list them with \`callplane accounts list\`.`);
  return row;
}

/** The seconds to wait before another attempt, for a 429's message and Retry-After. */
function rateLimited(until: Date | string): AppError {
  const seconds = Math.max(1, Math.ceil((new Date(until).getTime() - Date.now()) / 1000));
  return new AppError(
    "rate_limited",
    `Too many failed sign-ins to this account from this address: try again in ${seconds} seconds, or ask an administrator to unlock it (callplane accounts unlock NAME).`,
    [{ path: "retryAfter", message: String(seconds) }],
  );
}

/**
 * Takes one sign-in attempt for a key before the password is checked, in one statement so parallel
 * attempts are counted one by one. From the limit on, each attempt starts a wait (doubling each
 * time) that a successful sign-in ends; while a wait runs, attempts are refused unchecked.
 */
async function takeAttempt(db: Db, key: string, limit: number): Promise<void> {
  const count = sql`case when f.last_failure_at < now() - make_interval(secs => ${QUIET_S}) then 1 else f.failures + 1 end`;
  const [taken] = await rows<{ failures: number }>(
    db,
    sql`insert into sign_in_failures as f (key, failures, last_failure_at) values (${key}, 1, now())
        on conflict (key) do update set
          failures = ${count},
          last_failure_at = now(),
          blocked_until = case when ${count} >= ${limit}
            then now() + make_interval(secs => least(${MAX_WAIT_S}, ${FIRST_WAIT_S} * power(2, ${count} - ${limit})))
            else null end
        where f.blocked_until is null or f.blocked_until <= now()
        returning failures`,
  );
  if (taken) return;
  const [blocked] = await rows<{ blocked_until: Date | string | null }>(
    db,
    sql`select blocked_until from sign_in_failures where key = ${key}`,
  );
  throw rateLimited(blocked?.blocked_until ?? new Date());
}

/** Clears the sign-in slow-down of an account, from every address. */
async function clearAttempts(db: Db, name: string): Promise<number> {
  const prefix = pairPrefix(name);
  const cleared = await rows<{ key: string }>(
    db,
    sql`delete from sign_in_failures where left(key, ${prefix.length}) = ${prefix} returning key`,
  );
  return cleared.length;
}

interface NewAccount {
  name: string;
  role: Role;
  hash: string;
  /** The generated one-time password, or null when the password was given. */
  generated: string | null;
}

/** Checks a new account's name, role and password, and hashes the password (slow: scrypt). */
async function prepareAccount(input: { name: string; role: string; password?: string }): Promise<NewAccount> {
  const name = input.name.trim();
  if (!ACCOUNT_NAME.test(name)) {
    throw fieldError("body.name", `"${input.name}" is not an account name: use letters, digits and . _ @ - (at most 128).`);
  }
  const role = roleOf(input.role);
  const generated = input.password === undefined ? oneTimePassword() : null;
  const password = input.password ?? generated ?? "";
  const problem = passwordProblem(password);
  if (problem) throw fieldError("body.password", problem);
  return { name, role, hash: await hashPassword(password), generated };
}

/** Inserts an account (`onlyIfNone`: only into a store without any), with its audit event; undefined when not inserted. */
async function insertAccount(db: Db, by: Acting, a: NewAccount, onlyIfNone = false): Promise<AccountView | undefined> {
  const oneTime = a.generated !== null;
  const [row] = await rows<AccountRow>(
    db,
    sql`insert into accounts (name, role, password_hash, must_change_password, password_expires_at, created_by)
        select ${a.name}, ${a.role}, ${a.hash}, ${oneTime},
               ${oneTime ? sql`now() + make_interval(secs => ${ONE_TIME_PASSWORD_MS / 1000})` : sql`null`}, ${by.actor}
        ${onlyIfNone ? sql`where not exists (select 1 from accounts) on conflict do nothing` : sql``}
        returning *`,
  );
  if (!row) return undefined;
  await auditInstallation(db, by, "auth.account.create", "account", row.id, { name: a.name, role: a.role });
  return accountView(row);
}

/**
 * Creates an account. Without a password a one-time one is generated, returned once, must be changed
 * at the first sign-in, and stops working after 72 hours.
 */
export async function createAccount(
  db: Db,
  by: Acting,
  input: { name: string; role: string; password?: string },
): Promise<{ account: AccountView; oneTimePassword: string | null }> {
  const prepared = await prepareAccount(input);
  return db.transaction(async (tx) => {
    const account = await insertAccount(tx as unknown as Db, by, prepared);
    if (!account) throw new AppError("internal", "The account was not created.");
    return { account, oneTimePassword: prepared.generated };
  });
}

export async function listAccounts(db: Db): Promise<AccountView[]> {
  return (await rows<AccountRow>(db, sql`select ${accountColumns} from accounts a order by lower(a.name)`)).map(accountView);
}

/**
 * Changes an account's role or disables (or re-enables) it. Disabling ends its sessions, and the API
 * tokens it made stop working while it stays disabled.
 */
export async function updateAccount(db: Db, by: Acting, name: string, input: { role?: string; disabled?: boolean }): Promise<AccountView> {
  const role = input.role === undefined ? undefined : roleOf(input.role);
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const row = await accountByName(t, name);
    if (by.actor === `account:${row.name}` && (input.disabled === true || (role && role !== row.role))) {
      throw new AppError("invalid_input", "You cannot disable your own account or change your own role: ask another global administrator.");
    }
    await t.execute(
      sql`update accounts set
            role = coalesce(${role ?? null}, role),
            disabled_at = case when ${input.disabled ?? null}::boolean is null then disabled_at
                               when ${input.disabled ?? null}::boolean then coalesce(disabled_at, now()) else null end,
            updated_at = now()
          where id = ${row.id}`,
    );
    if (input.disabled) await t.execute(sql`delete from sessions where account_id = ${row.id}`);
    await auditInstallation(t, by, "auth.account.update", "account", row.id, {
      name: row.name,
      ...(role ? { role } : {}),
      ...(input.disabled === undefined ? {} : { disabled: input.disabled }),
    });
    return accountView(await accountByName(t, row.name));
  });
}

/**
 * Gives an account a new one-time password (shown once, working for 72 hours), ends its sessions,
 * clears its sign-in slow-down, and makes it change the password.
 */
export async function resetAccountPassword(db: Db, by: Acting, name: string): Promise<{ account: AccountView; oneTimePassword: string }> {
  const password = oneTimePassword();
  const hash = await hashPassword(password);
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const row = await accountByName(t, name);
    const [updated] = await rows<AccountRow>(
      t,
      sql`update accounts set password_hash = ${hash}, must_change_password = true,
            password_expires_at = now() + make_interval(secs => ${ONE_TIME_PASSWORD_MS / 1000}), updated_at = now()
          where id = ${row.id} returning *`,
    );
    if (!updated) throw new AppError("internal", "The password was not reset.");
    await t.execute(sql`delete from sessions where account_id = ${row.id}`);
    await clearAttempts(t, row.name);
    await auditInstallation(t, by, "auth.account.reset-password", "account", row.id, { name: row.name });
    return { account: accountView(updated), oneTimePassword: password };
  });
}

/** Clears the sign-in slow-down of an account from every address, so its owner can try again at once. */
export async function unlockAccount(db: Db, by: Acting, name: string): Promise<{ account: AccountView; addresses: number }> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const row = await accountByName(t, name);
    const addresses = await clearAttempts(t, row.name);
    await auditInstallation(t, by, "auth.account.unlock", "account", row.id, { name: row.name, addresses });
    return { account: accountView({ ...row, sign_in_blocked_until: null }), addresses };
  });
}

/**
 * On a store with no account, creates `admin` (global administrator). With `password` (from
 * CALLPLANE_ADMIN_PASSWORD) that is its password; otherwise a one-time password is generated and
 * returned once, to be changed at the first sign-in. Nodes starting together create it once.
 */
export async function ensureFirstAdmin(db: Db, password?: string): Promise<{ name: string; oneTimePassword: string | null } | undefined> {
  const anyAccount = async () => (await rows<{ id: string }>(db, sql`select id from accounts limit 1`)).length > 0;
  if (await anyAccount()) return undefined;
  const prepared = await prepareAccount({ name: "admin", role: "global-admin", password });
  const by = { actor: "system", source: "first run" };
  // One statement inserts only into an empty store, and a node that loses the race on the name does nothing.
  const account = await db.transaction(async (tx) => insertAccount(tx as unknown as Db, by, prepared, true));
  return account ? { name: account.name, oneTimePassword: prepared.generated } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Sign-in, sessions, passwords

/** Why an account's one-time password no longer works, or undefined while it does (or the account chose its password). */
function expiredOneTimePassword(row: AccountRow): string | undefined {
  if (row.password_expires_at === null || new Date(row.password_expires_at).getTime() > Date.now()) return undefined;
  return `The one-time password of ${row.name} has expired: ask an administrator to reset it (callplane accounts reset-password ${row.name}, or Reset password on the Access page).`;
}

export interface SignedIn {
  sessionId: string;
  csrfToken: string;
  principal: Principal;
}

/**
 * Checks a username and password and opens a session. Attempts are counted per account name and
 * address (and, for names that are no account, per address) before the password is checked (see
 * takeAttempt); a success clears its count. A password hashed at a lower cost than today's is hashed again.
 */
export async function signIn(db: Db, input: { username: string; password: string }, source: string): Promise<SignedIn> {
  const key = pairKey(input.username, source);
  const [row] = await rows<AccountRow>(db, sql`select * from accounts where lower(name) = ${input.username.trim().toLowerCase()}`);
  await takeAttempt(db, key, PAIR_LIMIT);
  if (!row) await takeAttempt(db, `addr:${source}`, ADDRESS_LIMIT);
  const ok = await verifyPassword(input.password, row?.password_hash ?? decoyPasswordHash());
  if (!row || !ok || row.disabled_at) throw unauthenticated("The username or password is wrong (or the account is disabled).");
  const expired = expiredOneTimePassword(row);
  if (expired) throw unauthenticated(expired);
  const rehash = needsRehash(row.password_hash) ? await hashPassword(input.password) : undefined;
  const sessionId = newSessionId();
  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from sign_in_failures where key = ${key}`);
    // Counts nobody added to for an hour, e.g. from names that do not exist, are swept now and then.
    await tx.execute(sql`delete from sign_in_failures
      where last_failure_at < now() - make_interval(secs => ${QUIET_S}) and (blocked_until is null or blocked_until < now())`);
    if (rehash) {
      // Unless the password changed meanwhile.
      await tx.execute(sql`update accounts set password_hash = ${rehash} where id = ${row.id} and password_hash = ${row.password_hash}`);
    }
    await tx.execute(sql`insert into sessions (id_hash, account_id, expires_at, source)
      values (${sha256(sessionId)}, ${row.id}, ${new Date(Date.now() + SESSION_ABSOLUTE_MS).toISOString()}, ${source})`);
    // Expired sessions of anyone are swept now and then, on sign-in.
    await tx.execute(
      sql`delete from sessions where expires_at < now() or last_seen_at < now() - make_interval(secs => ${SESSION_IDLE_MS / 1000})`,
    );
    await auditInstallation(tx as unknown as Db, { actor: `account:${row.name}`, source }, "auth.sign-in", "account", row.id, {
      name: row.name,
      ...(rehash ? { passwordRehashed: true } : {}),
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
  const expired = expiredOneTimePassword(row);
  if (expired) throw fieldError("body.currentPassword", expired);
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
      sql`update accounts set password_hash = ${hash}, must_change_password = false, password_expires_at = null, updated_at = now()
          where id = ${row.id}`,
    );
    await tx.execute(
      sql`delete from sessions where account_id = ${row.id} ${keepSessionId ? sql`and id_hash <> ${sha256(keepSessionId)}` : sql``}`,
    );
    await auditInstallation(tx as unknown as Db, by, "auth.password.change", "account", row.id, { name: row.name });
  });
}
