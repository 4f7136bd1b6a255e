// Sealing what the outbox keeps: a message that carries a PIN is stored encrypted (AES-256-GCM) with a
// key derived from the PIN key, which lives outside the store. Pure, no I/O.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** The outbox key: derived from the PIN key, so the store alone can read no message. */
export function outboxKey(pinKey: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", pinKey, Buffer.alloc(0), "callplane outbox v1", 32));
}

/** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
export function seal(key: Buffer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), body.toString("base64url")].join(".");
}

/** Opens what `seal` made; throws when the key is not the one it was sealed with or the text was changed. */
export function unseal<T>(key: Buffer, sealed: string): T {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("The stored message is not in a known sealed form.");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  const text = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  return JSON.parse(text) as T;
}
