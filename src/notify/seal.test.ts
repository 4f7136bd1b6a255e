import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { outboxKey, seal, unseal } from "./seal.ts";

describe("sealing outbox messages", () => {
  const key = outboxKey(randomBytes(32));

  it("round-trips, and the sealed text holds nothing of the message", () => {
    const message = { to: "alice@contoso.com", pin: "48213907" };
    const sealed = seal(key, message);
    expect(sealed).not.toContain("48213907");
    expect(sealed).not.toContain("alice");
    expect(unseal(key, sealed)).toEqual(message);
  });

  it("gives a new ciphertext each time", () => {
    expect(seal(key, { a: 1 })).not.toBe(seal(key, { a: 1 }));
  });

  it("refuses another key, a changed text and an unknown form", () => {
    const sealed = seal(key, { pin: "1234" });
    expect(() => unseal(outboxKey(randomBytes(32)), sealed)).toThrow();
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[0] = (body[0] ?? 0) ^ 1;
    expect(() => unseal(key, [parts[0], parts[1], parts[2], body.toString("base64url")].join("."))).toThrow();
    expect(() => unseal(key, "plain text")).toThrow(/not in a known sealed form/);
  });

  it("derives one key per PIN key", () => {
    const pinKey = randomBytes(32);
    expect(outboxKey(pinKey).equals(outboxKey(pinKey))).toBe(true);
    expect(outboxKey(pinKey).equals(outboxKey(randomBytes(32)))).toBe(false);
  });
});
