import { describe, expect, it } from "vitest";
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
  passwordCost,
  passwordProblem,
  SCRYPT_COST,
  sameSecret,
  sha256,
  verifyPassword,
} from "./credentials.ts";

describe("passwords", () => {
  it("hash with scrypt at OWASP's minimum cost and a fresh salt, verify only the same password, and never match the decoy", async () => {
    const [a, b] = await Promise.all([hashPassword("correct horse battery"), hashPassword("correct horse battery")]);
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
    expect(await verifyPassword("anything at all", decoyPasswordHash())).toBe(false);
    expect(decoyPasswordHash()).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword("x", "not a hash")).toBe(false);
  });

  it("verify a hash of an older, lower cost, and say it needs hashing again", async () => {
    const old = await hashPassword("correct horse battery", { N: 2 ** 15, r: 8, p: 1 });
    expect(old).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword("correct horse battery", old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash(old.replace("$32768$8$", "$131072$4$"))).toBe(true);
    expect(needsRehash(old.replace("$32768$", "$131072$"))).toBe(false);
    expect(needsRehash(old.replace("$32768$", "$262144$"))).toBe(false);
    expect(needsRehash("not a hash")).toBe(false);
  });

  it("take a lower test cost only from CALLPLANE_TEST_SCRYPT_N under vitest, never from a server's environment", () => {
    const saved = { n: process.env.CALLPLANE_TEST_SCRYPT_N, vitest: process.env.VITEST };
    try {
      expect(process.env.VITEST).toBeTruthy();
      process.env.CALLPLANE_TEST_SCRYPT_N = "16384";
      expect(passwordCost()).toEqual({ N: 16384, r: 8, p: 1 });
      for (const bad of ["1000", String(2 ** 18), "abc", "512"]) {
        process.env.CALLPLANE_TEST_SCRYPT_N = bad;
        expect(passwordCost(), bad).toEqual(SCRYPT_COST);
      }
      process.env.CALLPLANE_TEST_SCRYPT_N = "16384";
      delete process.env.VITEST;
      expect(passwordCost()).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    } finally {
      for (const [name, value] of [
        ["CALLPLANE_TEST_SCRYPT_N", saved.n],
        ["VITEST", saved.vitest],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it.each([
    ["short", "at least 12"],
    ["aaaaaaaaaaaaaaaa", "different characters"],
    ["x".repeat(257), "at most 256"],
    ["a fine passphrase", undefined],
  ])("%s → %s", (password, problem) => {
    const p = passwordProblem(password);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });

  it("one-time passwords are 20 readable characters, different each time", () => {
    const seen = new Set(Array.from({ length: 200 }, () => oneTimePassword()));
    expect(seen.size).toBe(200);
    for (const p of seen) expect(p).toMatch(/^[a-km-np-zA-HJ-NP-Z2-9]{20}$/);
  });
});

describe("API tokens", () => {
  it("carry an id and a secret; only the secret's SHA-256 is kept", () => {
    const t = newApiToken();
    expect(t.token).toMatch(/^cpt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiToken(t.token);
    expect(parsed?.id).toBe(t.id);
    expect(sha256(parsed?.secret ?? "")).toBe(t.secretHash);
    expect(t.token).not.toContain(t.secretHash);
  });

  it.each([
    "",
    "cpt_",
    "cpt_abc_def",
    `cpt_${"0".repeat(12)}_short`,
    `CPT_${"0".repeat(12)}_${"a".repeat(43)}`,
    `cpt_${"g".repeat(12)}_${"a".repeat(43)}`,
  ])("refuses %j", (token) => {
    expect(parseApiToken(token)).toBeUndefined();
  });
});

describe("sessions and CSRF", () => {
  it("derive the CSRF token from the session id: stable, not the stored hash, different per session", () => {
    const s = newSessionId();
    expect(csrfTokenFor(s)).toBe(csrfTokenFor(s));
    expect(csrfTokenFor(s)).not.toBe(csrfTokenFor(newSessionId()));
    expect(csrfTokenFor(s)).not.toContain(sha256(s));
  });

  it("compare secrets of any length without throwing", () => {
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abc", "abd")).toBe(false);
    expect(sameSecret("abc", "abcd")).toBe(false);
    expect(sameSecret("", "")).toBe(true);
  });
});

describe("durations", () => {
  it.each([
    ["30d", 30 * 86_400_000],
    ["12h", 12 * 3_600_000],
    ["90m", 90 * 60_000],
    ["45s", 45_000],
    ["2w", 14 * 86_400_000],
    [" 7D ", 7 * 86_400_000],
    ["0d", undefined],
    ["d", undefined],
    ["1.5d", undefined],
    ["30 days", undefined],
    ["-1d", undefined],
  ])("%j → %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
