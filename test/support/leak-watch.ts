// A check on every test file that opens a store: no secret the store holds (PIN hashes, archived PIN
// hashes, password hashes, token hashes, session id hashes, the PIN key) appears in any HTTP response a
// test received, nor in any email the outbox holds. Run when the file's store closes, so a leak anywhere
// in the suite fails the file it happened in.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import type { Runtime } from "../../src/runtime.ts";
import { rows } from "../../src/store/db.ts";

const seen: string[] = [];

/** Records what a client received (a response's body and headers), for the check at the end of the file. */
export function watchOutput(text: string): void {
  seen.push(text);
}

async function storedSecrets(rt: Runtime): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const take = async (what: string, query: ReturnType<typeof sql>) => {
    for (const r of await rows<{ v: string | null }>(rt.store.db, query)) if (r.v && r.v.length >= 16) found.set(r.v, what);
  };
  await take("a PIN hash", sql`select pin_hash as v from dial_in_users`);
  await take("an archived PIN hash", sql`select a.data #>> '{dialIn,pinHash}' as v from archives a`);
  await take("a password hash", sql`select password_hash as v from accounts`);
  await take("an API token hash", sql`select secret_hash as v from api_tokens`);
  await take("a session id hash", sql`select id_hash as v from sessions`);
  await take("a server secret", sql`select value as v from secrets`);
  // The PIN key lives outside the store (a key file or the environment): the process holds it.
  found.set(rt.env.pinKey.toString("base64"), "the PIN key (base64)");
  found.set(rt.env.pinKey.toString("hex"), "the PIN key (hex)");
  return found;
}

/** Throws naming the secret's kind and where it was seen. */
export async function assertNoSecretLeaked(rt: Runtime, outboxDir: string): Promise<void> {
  const secrets = await storedSecrets(rt);
  if (secrets.size === 0) return;
  const places: [string, string][] = seen.map((text, i) => [`response ${i + 1} of this file`, text]);
  let files: string[] = [];
  try {
    files = readdirSync(outboxDir);
  } catch {
    files = [];
  }
  for (const f of files) places.push([`outbox email ${f}`, readFileSync(path.join(outboxDir, f), "utf8")]);
  const leaks: string[] = [];
  for (const [where, text] of places) {
    for (const [secret, what] of secrets) if (text.includes(secret)) leaks.push(`${what} in ${where}`);
  }
  seen.length = 0;
  if (leaks.length > 0) throw new Error(`Secrets left the server: ${leaks.slice(0, 10).join("; ")}.`);
}
