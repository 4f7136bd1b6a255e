// Sealing what the outbox keeps: a message that carries a PIN is stored encrypted (AES-256-GCM) with a
// key derived from the PIN key, which lives outside the store. Pure, no I/O.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject, randomBytes } from "node:crypto";

const derived = new WeakMap<Buffer, KeyObject>();

/** The outbox key: derived from the PIN key, so the store alone can read no message. Derived once per PIN key. */
export function outboxKey(pinKey: Buffer): KeyObject {
  let key = derived.get(pinKey);
  if (!key) {
    key = createSecretKey(Buffer.from(hkdfSync("sha256", pinKey, Buffer.alloc(0), "callplane outbox v1", 32)));
    derived.set(pinKey, key);
  }
  return key;
}

/**
 * `v1.<iv>.<tag>.<ciphertext>`, base64url parts. `iv`: 12 random bytes never used before with this key
 * (a bulk job draws them for its whole batch at once); drawn here when not given.
 */
export function seal(key: KeyObject, value: unknown, iv: Buffer = randomBytes(12)): string {
  if (iv.length !== 12) throw new Error("A sealing IV is 12 bytes.");
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = cipher.update(JSON.stringify(value), "utf8");
  cipher.final();
  return `v1.${iv.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}.${body.toString("base64url")}`;
}

/** Opens what `seal` made; throws when the key is not the one it was sealed with or the text was changed. */
export function unseal<T>(key: KeyObject, sealed: string): T {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("The stored message is not in a known sealed form.");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  const text = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  return JSON.parse(text) as T;
}
