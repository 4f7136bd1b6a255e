// The suite-wide secret check (test/support/leak-watch.ts) fails when a secret is seen, and only then.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enableDialIn } from "../src/conferencing/dial-in.service.ts";
import { rows } from "../src/store/db.ts";
import { makeUser, newTenant } from "./support/fixtures.ts";
import { assertNoSecretLeaked, watchOutput } from "./support/leak-watch.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

let rt: TestRuntime;
beforeAll(async () => {
  rt = await openTestRuntime();
});
afterAll(async () => {
  await rt?.close();
});

describe("the secret check run when every test file's store closes", () => {
  it("passes on clean output, and names a PIN hash seen in a response or an email", async () => {
    const t = await newTenant(rt);
    await makeUser(t, "ann");
    await enableDialIn(t.ctx, t.upn("ann"), {});
    const [row] = await rows<{ pin_hash: string }>(rt.store.db, sql`select pin_hash from dial_in_users limit 1`);
    const hash = row?.pin_hash ?? "";
    expect(hash.length).toBeGreaterThan(16);

    watchOutput('{"conferenceId":"123456"}');
    await assertNoSecretLeaked(rt, rt.outboxDir);

    watchOutput(`{"oops":"${hash}"}`);
    await expect(assertNoSecretLeaked(rt, rt.outboxDir)).rejects.toThrow(/a PIN hash in response 1 of this file/);

    writeFileSync(path.join(rt.outboxDir, "leak.eml"), `Subject: x\r\n\r\n${hash}\r\n`);
    await expect(assertNoSecretLeaked(rt, rt.outboxDir)).rejects.toThrow(/a PIN hash in outbox email leak\.eml/);
    // Clean up so the check at close passes.
    writeFileSync(path.join(rt.outboxDir, "leak.eml"), "Subject: x\r\n\r\nclean\r\n");
  });
});
