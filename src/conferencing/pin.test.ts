import { describe, expect, it } from "vitest";
import { errorOf } from "../../test/support/errors.ts";
import { cryptoRng, type Rng, seededRng } from "../core/random.ts";
import {
  generatePin,
  hashPin,
  isWeakPin,
  PIN_LENGTH_DEFAULT,
  PIN_LENGTH_MAX,
  PIN_LENGTH_MIN,
  validatePinLength,
  verifyPin,
} from "./pin.ts";

const KEY = Buffer.from("server-secret-for-tests-only-0123456789");
const OTHER_KEY = Buffer.from("another-server-secret");

/** Replays digits, to force weak PINs out of generatePin. */
function digits(sequence: string): Rng {
  let i = 0;
  return { int: () => Number(sequence.charAt(i++ % sequence.length)) };
}

describe("PIN length limits", () => {
  it("are 4..12 with 5 as the default", () => {
    expect([PIN_LENGTH_MIN, PIN_LENGTH_MAX, PIN_LENGTH_DEFAULT]).toEqual([4, 12, 5]);
  });
});

describe("validatePinLength", () => {
  it.each<[unknown, number]>([
    [4, 4],
    [5, 5],
    [12, 12],
    [6.0, 6],
    ["7", 7],
    [" 8 ", 8],
  ])("accepts %j as %d", (input, expected) => {
    expect(validatePinLength(input)).toBe(expected);
  });

  it.each<[unknown, string]>([
    [13, "PIN length 13 is out of range: choose a whole number from 4 to 12 (the default is 5)."],
    [3, "PIN length 3 is out of range: choose a whole number from 4 to 12 (the default is 5)."],
    [0, "PIN length 0 is out of range"],
    [-5, "PIN length -5 is out of range"],
    ["-5", "PIN length -5 is out of range"],
    ["13", "PIN length 13 is out of range"],
    [4.5, "PIN length 4.5 is not a whole number: choose a whole number from 4 to 12 (the default is 5)."],
    [Number.NaN, "PIN length NaN is not a whole number"],
    [Number.POSITIVE_INFINITY, "PIN length Infinity is not a whole number"],
    ["five", 'PIN length "five" is not a whole number'],
    ["4.0", 'PIN length "4.0" is not a whole number'],
    ["0x5", 'PIN length "0x5" is not a whole number'],
    [true, "PIN length of type boolean is not a whole number"],
    [[5], "PIN length of type object is not a whole number"],
    [undefined, "PIN length is missing: choose a whole number from 4 to 12 (the default is 5)."],
    [null, "PIN length is missing"],
    ["  ", "PIN length is missing"],
  ])("rejects %j", (input, message) => {
    const err = errorOf(() => validatePinLength(input));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain(message);
  });
});

describe("isWeakPin", () => {
  it.each<[string, boolean]>([
    ["0000", true],
    ["99999", true],
    ["1234", true],
    ["12345", true],
    ["0123456789", true],
    ["56789", true],
    // Wrapping past 9 still counts as a run.
    ["78901", true],
    ["901234567890", true],
    ["54321", true],
    ["3210", true],
    ["21098", true],
    ["10987", true],
    ["1", true],
    ["", true],
    ["12346", false],
    ["11112", false],
    ["13579", false],
    ["2468", false],
    ["1212", false],
    ["98765432109", true],
    ["98765432102", false],
    ["48213", false],
  ])("%s is weak: %s", (pin, weak) => {
    expect(isWeakPin(pin)).toBe(weak);
  });
});

describe("generatePin", () => {
  it.each([4, 5, 8, 12])("generates %d digits", (length) => {
    const rng = seededRng(`pin-${length}`);
    for (let i = 0; i < 200; i++) {
      const pin = generatePin(length, rng);
      expect(pin).toMatch(new RegExp(`^[0-9]{${length}}$`));
      expect(isWeakPin(pin)).toBe(false);
    }
  });

  it("keeps leading zeros", () => {
    expect(generatePin(4, digits("0071"))).toBe("0071");
  });

  it.each([
    { name: "repeated digit", sequence: "1111" + "4821" },
    { name: "ascending run", sequence: "1234" + "4821" },
    { name: "wrapping ascending run", sequence: "8901" + "4821" },
    { name: "descending run", sequence: "4321" + "4821" },
  ])("draws again after a $name", ({ sequence }) => {
    expect(generatePin(4, digits(sequence))).toBe("4821");
  });

  it("gives up with an internal error when the rng only yields weak PINs", () => {
    const err = errorOf(() => generatePin(5, { int: () => 7 }));
    expect(err.code).toBe("internal");
  });

  it.each([3, 13, 4.5])("rejects length %d", (length) => {
    expect(errorOf(() => generatePin(length, cryptoRng)).code).toBe("invalid_input");
  });

  it("uses every digit in every position", () => {
    const rng = seededRng("spread");
    const seen = Array.from({ length: 5 }, () => new Set<string>());
    for (let i = 0; i < 500; i++) {
      const pin = generatePin(5, rng);
      for (let p = 0; p < 5; p++) seen[p]?.add(pin.charAt(p));
    }
    for (const s of seen) expect(s.size).toBe(10);
  });
});

describe("hashPin and verifyPin", () => {
  it("formats the hash as hmac-sha256$salt$digest in base64url", () => {
    const stored = hashPin("48213", KEY);
    expect(stored).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it("is deterministic for a given salt and matches a known HMAC", () => {
    const salt = Buffer.alloc(16, 1);
    const a = hashPin("48213", KEY, salt);
    expect(hashPin("48213", KEY, salt)).toBe(a);
    expect(a.startsWith(`hmac-sha256$${salt.toString("base64url")}$`)).toBe(true);
    // HMAC-SHA256 with key "k" over salt "s" then PIN "1234", computed independently.
    expect(hashPin("1234", Buffer.from("k"), Buffer.from("s"))).toBe("hmac-sha256$cw$0g7upsGa9JkxxMhgI2dERjIiiUgy25ofXUR04UrcKKQ");
  });

  it("salts each hash differently by default", () => {
    const hashes = new Set(Array.from({ length: 50 }, () => hashPin("48213", KEY)));
    expect(hashes.size).toBe(50);
  });

  it.each<{ pin: string; stored: () => string; key: Buffer; ok: boolean }>([
    { pin: "48213", stored: () => hashPin("48213", KEY), key: KEY, ok: true },
    { pin: "000000000000", stored: () => hashPin("000000000000", KEY), key: KEY, ok: true },
    { pin: "48214", stored: () => hashPin("48213", KEY), key: KEY, ok: false },
    { pin: "048213", stored: () => hashPin("48213", KEY), key: KEY, ok: false },
    { pin: "4821", stored: () => hashPin("48213", KEY), key: KEY, ok: false },
    { pin: "", stored: () => hashPin("48213", KEY), key: KEY, ok: false },
    { pin: "48213", stored: () => hashPin("48213", KEY), key: OTHER_KEY, ok: false },
    { pin: "48213", stored: () => hashPin("48213", KEY, Buffer.alloc(0)), key: KEY, ok: true },
  ])("verifyPin($pin) against its hash is $ok", ({ pin, stored, key, ok }) => {
    expect(verifyPin(pin, stored(), key)).toBe(ok);
  });

  it.each([
    "",
    "48213",
    "hmac-sha256$",
    "hmac-sha256$$",
    "hmac-sha256$abc",
    "bcrypt$abc$def",
    "HMAC-SHA256$abc$def",
    "hmac-sha256$a!b$def",
  ])("never matches the malformed hash %j", (stored) => {
    expect(verifyPin("48213", stored, KEY)).toBe(false);
  });

  it("rejects a tampered salt, digest, or extra part", () => {
    const stored = hashPin("48213", KEY, Buffer.alloc(16, 7));
    const [scheme, salt = "", digest = ""] = stored.split("$");
    const flip = (s: string) => (s.startsWith("A") ? `B${s.slice(1)}` : `A${s.slice(1)}`);
    expect(verifyPin("48213", `${scheme}$${flip(salt)}$${digest}`, KEY)).toBe(false);
    expect(verifyPin("48213", `${scheme}$${salt}$${flip(digest)}`, KEY)).toBe(false);
    expect(verifyPin("48213", `${scheme}$${salt}$${digest.slice(0, -2)}`, KEY)).toBe(false);
    expect(verifyPin("48213", `${stored}$x`, KEY)).toBe(false);
    expect(verifyPin("48213", `${scheme}$${salt}$${digest}!`, KEY)).toBe(false);
    expect(verifyPin("48213", stored, KEY)).toBe(true);
  });

  it("refuses an empty key", () => {
    expect(errorOf(() => hashPin("48213", Buffer.alloc(0))).code).toBe("internal");
    expect(errorOf(() => verifyPin("48213", hashPin("48213", KEY), Buffer.alloc(0))).code).toBe("internal");
  });

  it("gives every PIN its own salt, so equal PINs hash differently", () => {
    const hashes = new Set<string>();
    for (let i = 0; i < 1000; i++) hashes.add(hashPin("48213", KEY));
    expect(hashes.size).toBe(1000);
  });
});
