import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../core/errors.ts";
import type { Rng } from "../core/random.ts";

/** Shortest leader PIN a bridge may be configured for. */
export const PIN_LENGTH_MIN = 4;
/** Longest leader PIN a bridge may be configured for. */
export const PIN_LENGTH_MAX = 12;
/** PIN length when none is configured. */
export const PIN_LENGTH_DEFAULT = 5;

const HASH_SCHEME = "hmac-sha256";
const SALT_BYTES = 16;
const DIGEST_BYTES = 32;
/** Weak PINs are about 3 in 10^4 at worst, so hitting this means the rng is broken. */
const MAX_DRAWS = 100;

function lengthRule(): string {
  return `choose a whole number from ${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX} (the default is ${PIN_LENGTH_DEFAULT})`;
}

/**
 * Checks a PIN length from a request or the command line; numeric strings such as "6" are
 * accepted. Throws invalid_input unless it is a whole number from 4 to 12.
 */
export function validatePinLength(n: unknown): number {
  if (n === undefined || n === null || (typeof n === "string" && n.trim() === "")) {
    throw new AppError("invalid_input", `PIN length is missing: ${lengthRule()}.`);
  }
  const value = typeof n === "string" && /^\s*-?[0-9]+\s*$/.test(n) ? Number(n) : n;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    const shown = typeof n === "string" ? `"${n}"` : typeof n === "number" ? String(n) : `of type ${typeof n}`;
    throw new AppError("invalid_input", `PIN length ${shown} is not a whole number: ${lengthRule()}.`);
  }
  if (value < PIN_LENGTH_MIN || value > PIN_LENGTH_MAX) {
    throw new AppError("invalid_input", `PIN length ${value} is out of range: ${lengthRule()}.`);
  }
  return value;
}

/**
 * Whether a digit PIN is too easy to guess: one digit repeated (11111), or each digit one
 * above (12345, and wrapping 89012) or one below (54321, and wrapping 21098) the last.
 */
export function isWeakPin(pin: string): boolean {
  if (pin.length < 2) return true;
  let same = true;
  let up = true;
  let down = true;
  for (let i = 1; i < pin.length; i++) {
    const step = (pin.charCodeAt(i) - pin.charCodeAt(i - 1) + 10) % 10;
    same &&= step === 0;
    up &&= step === 1;
    down &&= step === 9;
  }
  return same || up || down;
}

/** A random PIN of `length` digits that is not weak (see isWeakPin); draws again until it is not. */
export function generatePin(length: number, rng: Rng): string {
  const digits = validatePinLength(length);
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    let pin = "";
    for (let i = 0; i < digits; i++) pin += String(rng.int(10));
    if (!isWeakPin(pin)) return pin;
  }
  throw new AppError("internal", `No acceptable PIN after ${MAX_DRAWS} draws: the random number source is not random.`);
}

/** One randomBytes call per salt costs as much as the HMAC itself, so salts are cut from a pool. */
const SALT_POOL_BYTES = SALT_BYTES * 256;
let saltPool = Buffer.alloc(0);
let saltOffset = 0;

function freshSalt(): Buffer {
  if (saltOffset + SALT_BYTES > saltPool.length) {
    saltPool = randomBytes(SALT_POOL_BYTES);
    saltOffset = 0;
  }
  const salt = saltPool.subarray(saltOffset, saltOffset + SALT_BYTES);
  saltOffset += SALT_BYTES;
  return salt;
}

function hmac(pin: string, key: Buffer, salt: Buffer): Buffer {
  return createHmac("sha256", key).update(salt).update(pin, "utf8").digest();
}

/**
 * Hashes a PIN for storage as `hmac-sha256$<salt>$<digest>` (base64url), keyed by the server secret.
 * The salt defaults to 16 random bytes.
 */
export function hashPin(pin: string, key: Buffer, salt: Buffer = freshSalt()): string {
  // A 5-digit PIN has 100,000 values, so no work factor would stop anyone holding the hash
  // from trying them all; the protection is that the hash is useless without the server-held
  // key. A plain HMAC is therefore enough, and it keeps bulk PIN resets fast.
  if (key.length === 0) throw new AppError("internal", "The PIN hashing key is empty: configure the server secret.");
  return `${HASH_SCHEME}$${salt.toString("base64url")}$${hmac(pin, key, salt).toString("base64url")}`;
}

/** Whether `pin` matches a hash from hashPin, compared in constant time; malformed hashes never match. */
export function verifyPin(pin: string, stored: string, key: Buffer): boolean {
  if (key.length === 0) throw new AppError("internal", "The PIN hashing key is empty: configure the server secret.");
  const parts = stored.split("$");
  if (parts.length !== 3 || parts[0] !== HASH_SCHEME) return false;
  const [, saltText = "", digestText = ""] = parts;
  // Buffer.from(..., "base64url") skips characters it does not know, so check them first.
  if (!/^[A-Za-z0-9_-]*$/.test(saltText) || !/^[A-Za-z0-9_-]+$/.test(digestText)) return false;
  const expected = Buffer.from(digestText, "base64url");
  if (expected.length !== DIGEST_BYTES) return false;
  return timingSafeEqual(hmac(pin, key, Buffer.from(saltText, "base64url")), expected);
}
