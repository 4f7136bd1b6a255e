import { randomInt } from "node:crypto";

/** A source of uniformly distributed integers; `int(n)` returns 0..n-1. */
export interface Rng {
  int(maxExclusive: number): number;
}

const TWO_32 = 0x1_0000_0000;
const TWO_53 = 2 ** 53;
/** node:crypto randomInt rejects ranges of 2^48 or more. */
const CRYPTO_MAX = 2 ** 48;

function assertRange(maxExclusive: number, limit: number): void {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > limit) {
    throw new RangeError(`Rng.int needs a whole number from 1 to ${limit}, got ${String(maxExclusive)}.`);
  }
}

/**
 * cyrb128: spreads any string over four 32-bit words, so that seeds such as
 * "demo-1" and "demo-2" start unrelated streams.
 */
function hashSeed(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * A deterministic Rng (sfc32 seeded by a hash of the seed), for demo data and tests.
 * Numbers are hashed by their decimal text, so `seededRng(7)` and `seededRng("7")` agree.
 */
export function seededRng(seed: number | string): Rng {
  let [a, b, c, d] = hashSeed(String(seed));

  const next32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };

  // sfc32 needs a few rounds before weakly mixed seed words stop showing through.
  for (let i = 0; i < 15; i++) next32();

  return {
    int(maxExclusive: number): number {
      assertRange(maxExclusive, Number.MAX_SAFE_INTEGER);
      // Rejection sampling instead of a plain modulo keeps every value equally
      // likely; at worst half the draws are rejected, so the loop ends quickly.
      if (maxExclusive <= TWO_32) {
        const limit = TWO_32 - (TWO_32 % maxExclusive);
        for (;;) {
          const x = next32();
          if (x < limit) return x % maxExclusive;
        }
      }
      // One 32-bit draw cannot cover ranges such as 10^12, so join two into 53 bits.
      const limit = TWO_53 - (TWO_53 % maxExclusive);
      for (;;) {
        const x = (next32() >>> 11) * TWO_32 + next32();
        if (x < limit) return x % maxExclusive;
      }
    },
  };
}

/** The Rng for real secrets (PINs, conference IDs): node:crypto, ranges below 2^48. */
export const cryptoRng: Rng = {
  int(maxExclusive: number): number {
    assertRange(maxExclusive, CRYPTO_MAX - 1);
    return randomInt(maxExclusive);
  },
};

/** One element of a non-empty list, chosen uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("pick needs at least one item to choose from.");
  // The index is in range, so the element exists even when T itself admits undefined.
  return items[rng.int(items.length)] as T;
}

/** A version 4, RFC 4122 variant uuid string built from the rng (deterministic with a seeded rng). */
export function uuidFromRng(rng: Rng): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i += 2) {
    const word = rng.int(0x1_0000);
    bytes[i] = word >>> 8;
    bytes[i + 1] = word & 0xff;
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
