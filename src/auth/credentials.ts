// The shapes and hashes of credentials: passwords (scrypt), API tokens and session ids (SHA-256 of
// a high-entropy secret), CSRF tokens. No store, no network.
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt parameters: the cost factor N (a power of two), the block size r and the parallelism p. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** scrypt cost: OWASP's minimum (N=2^17, r=8, p=1), 128 MiB of memory and about half a second per hash. */
export const SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const KEYLEN = 32;
/** scrypt needs 128 × N × r bytes (128 MiB at N=2^17, r=8) and Node refuses past maxmem (32 MiB by default). */
const MAXMEM = 256 * 1024 * 1024;

/**
 * The cost of new hashes. Test suites create many accounts: CALLPLANE_TEST_SCRYPT_N lowers N, but it
 * is read only under vitest (VITEST set), so a server never takes it from its environment.
 */
export function passwordCost(): ScryptCost {
  const testN = process.env.VITEST ? process.env.CALLPLANE_TEST_SCRYPT_N : undefined;
  if (testN) {
    const N = Number(testN);
    if (Number.isInteger(N) && N >= 1024 && N <= SCRYPT_COST.N && (N & (N - 1)) === 0) return { ...SCRYPT_COST, N };
  }
  return SCRYPT_COST;
}

function scryptAsync(password: string, salt: Buffer, cost: ScryptCost, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keylen, { ...cost, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A password hash: `scrypt$N$r$p$salt$hash`, salt and hash in base64, a fresh 16-byte salt each time. */
export async function hashPassword(password: string, cost: ScryptCost = passwordCost()): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, cost, KEYLEN);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

function parseHash(stored: string): { cost: ScryptCost; salt: Buffer; hash: Buffer } | undefined {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return undefined;
  return { cost: { N: Number(n), r: Number(r), p: Number(p) }, salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
}

/** Whether `password` matches a hash from hashPassword (whatever its cost); compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await scryptAsync(password, parsed.salt, parsed.cost, parsed.hash.length);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

/** Whether a hash was made with a lower cost than new hashes get, so a sign-in should replace it. */
export function needsRehash(stored: string, cost: ScryptCost = passwordCost()): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const old = parsed.cost;
  return old.N < cost.N || old.r < cost.r || old.p < cost.p || parsed.hash.length < KEYLEN;
}

/** A hash that matches no password, verified against when the account does not exist so timing says nothing. */
export function decoyPasswordHash(): string {
  const cost = passwordCost();
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${Buffer.alloc(16).toString("base64")}$${Buffer.alloc(KEYLEN).toString("base64")}`;
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `A password needs at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `A password may have at most ${PASSWORD_MAX} characters.`;
  if (new Set(password).size < 5) return "A password needs more than a few different characters.";
  return undefined;
}

const readable = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** A random one-time password: 20 characters without look-alikes (about 115 bits). */
export function oneTimePassword(): string {
  const bytes = randomBytes(40);
  let out = "";
  for (const b of bytes) {
    // Rejection sampling keeps every character equally likely.
    if (b >= 256 - (256 % readable.length)) continue;
    out += readable[b % readable.length];
    if (out.length === 20) return out;
  }
  return out.length === 20 ? out : oneTimePassword();
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Constant-time comparison of two strings (of any lengths). */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

const TOKEN = /^cpt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A new API token `cpt_<id>_<secret>`: the id finds the row, only the SHA-256 of the secret is stored. */
export function newApiToken(): { id: string; token: string; secretHash: string } {
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `cpt_${id}_${secret}`, secretHash: sha256(secret) };
}

export function parseApiToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(token.trim());
  return m?.[1] && m[2] ? { id: m[1], secret: m[2] } : undefined;
}

/** A new session id for the cookie (32 random bytes); the store keeps only sha256(id). */
export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

/** The CSRF token of a session: derived from the session id, so nothing more is stored, and not the stored hash. */
export function csrfTokenFor(sessionId: string): string {
  return createHmac("sha256", sessionId).update("callplane csrf v1").digest("base64url");
}

/** Parses a duration such as `30d`, `12h`, `90m` or `3600s` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})\s*([smhdw])$/.exec(text.trim().toLowerCase());
  if (!m?.[1] || !m[2]) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : undefined;
}
