import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTenant, type TenantFixture } from "../../test/support/fixtures.ts";
import { describeSmtp, type SmtpSink, startSmtpSink } from "../../test/support/smtp-sink.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import type { Ctx } from "../core/context.ts";
import { rows } from "../store/db.ts";
import type { DialInEmail } from "./email.ts";
import { deliverMail, enqueueMail, getMail, listMail, mailQueue, retryMail } from "./outbox.service.ts";
import { emlTransport, parseSmtpUrl, smtpTransport } from "./transport.ts";

let rt: TestRuntime;
let sink: SmtpSink;
let t: TenantFixture;

const mailTo = (to: string, pin: string | null = "48213907", toName = "Alice Adams"): DialInEmail => ({
  to,
  toName,
  from: "no-reply@contoso.com",
  fromName: "Audio Conferencing",
  subject: "Your dial-in conferencing details",
  conferenceId: "8412345",
  tollNumber: "+14255551234",
  tollFreeNumber: "+18005550100",
  pin,
  lines: ["You can now host meetings that people join by phone."],
});

/** A context whose outbox delivers to the sink. */
function viaSink(): Ctx {
  return { ...t.ctx, env: { ...t.ctx.env, mail: smtpTransport({ url: sink.url }) } };
}

async function queue(ctx: Ctx, mails: DialInEmail[]): Promise<string[]> {
  return ctx.db.transaction(async (tx) =>
    enqueueMail(
      { ...ctx, db: tx as unknown as Ctx["db"] },
      mails.map((mail) => ({ userId: null, kind: "dial-in.enabled", mail })),
    ),
  );
}

describeSmtp("the outbox", () => {
  beforeAll(async () => {
    rt = await openTestRuntime();
    sink = await startSmtpSink();
    t = await newTenant(rt, { bridge: false });
  });

  afterAll(async () => {
    await sink?.stop();
    await rt?.close();
  });

  it("delivers a queued message once, with its Message-ID, and then keeps no PIN", async () => {
    process.env.CALLPLANE_MAIL_RETRY_MS = "50";
    const ctx = viaSink();
    const [id] = await queue(ctx, [mailTo("alice@contoso.com")]);
    const [stored] = await rows<{ payload: string }>(ctx.db, sql`select payload from mail_messages where id = ${id}`);
    expect(stored?.payload).not.toContain("48213907");
    const done = await deliverMail(ctx, { ids: [id ?? ""] });
    expect(done).toEqual([{ id, userId: null, to: "alice@contoso.com", status: "sent", error: null }]);
    const [m] = await sink.waitForMessages(1);
    expect(m?.to).toEqual(["alice@contoso.com"]);
    expect(m?.headers["message-id"]).toBe(`<${id}@callplane>`);
    expect(m?.text).toContain("Leader PIN: 48213907");
    expect(m?.html).toContain("48213907");
    // Delivered again by id: nothing to claim, nothing sent twice.
    expect(await deliverMail(ctx, { ids: [id ?? ""] })).toEqual([]);
    const detail = await getMail(ctx, id ?? "");
    expect(detail).toMatchObject({ status: "sent", hasPin: false, conferenceId: "8412345" });
    expect(JSON.stringify(detail)).not.toContain("48213907");
    expect(detail.history.map((h) => h.status)).toEqual(["queued", "sent"]);
  });

  it("keeps a display name a name: `Evil <a@b>, Alice` adds no recipient", async () => {
    const ctx = viaSink();
    const before = sink.messages().length;
    const [id] = await queue(ctx, [mailTo("bob@contoso.com", null, "Evil <evil@attacker.example>, Alice")]);
    await deliverMail(ctx, { ids: [id ?? ""] });
    const all = await sink.waitForMessages(before + 1);
    const m = all[all.length - 1];
    expect(m?.to).toEqual(["bob@contoso.com"]);
    // The name is quoted as one display name: the only address in the header is the recipient's.
    expect(m?.headers.to).toBe('"Evil <evil@attacker.example>, Alice" <bob@contoso.com>');
  });

  it("defers on 451 and delivers when the server takes it; fails a 550 with the server's answer", async () => {
    const ctx = viaSink();
    sink.setMode("defer");
    const [a] = await queue(ctx, [mailTo("carol@contoso.com")]);
    const first = await deliverMail(ctx, { ids: [a ?? ""] });
    expect(first[0]).toMatchObject({ status: "deferred", error: expect.stringMatching(/451/) });
    sink.setMode("accept");
    await new Promise((r) => setTimeout(r, 100));
    const due = await deliverMail(ctx, { due: true });
    expect(due.find((d) => d.id === a)).toMatchObject({ status: "sent" });

    sink.reject(["gone@contoso.com"]);
    const [b] = await queue(ctx, [mailTo("gone@contoso.com")]);
    const refused = await deliverMail(ctx, { ids: [b ?? ""] });
    expect(refused[0]).toMatchObject({ status: "failed", error: expect.stringMatching(/550 5\.1\.1/) });
    expect(await listMail(ctx, { status: "failed" })).toEqual([expect.objectContaining({ id: b, to: "gone@contoso.com" })]);
    // Once the address is fixed on the server's side, a retry delivers it.
    sink.reject([]);
    const retried = await retryMail(ctx, { id: b ?? "" });
    expect(retried.delivered[0]).toMatchObject({ status: "sent" });
    await expect(retryMail(ctx, { id: b ?? "" })).rejects.toThrow(/delivered already/);
  });

  it("a message to a user with no valid address is kept as failed with the reason, never blocking the change", async () => {
    const ctx = viaSink();
    const [id] = await queue(ctx, [mailTo("not an address\r\nBcc: x@y.z")]);
    const m = await getMail(ctx, id ?? "");
    expect(m.status).toBe("failed");
    expect(m.lastError).toMatch(/is not a mail address/);
    expect((await mailQueue(ctx)).failed).toBeGreaterThanOrEqual(1);
  });

  it("the .eml transport writes owner-only files named by id", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "callplane-eml-"));
    try {
      const ctx = { ...t.ctx, env: { ...t.ctx.env, mail: emlTransport(path.join(dir, "outbox")) } };
      const [id] = await queue(ctx, [mailTo("dave@contoso.com")]);
      expect((await deliverMail(ctx, { ids: [id ?? ""] }))[0]?.status).toBe("sent");
      const files = readdirSync(path.join(dir, "outbox"));
      expect(files).toHaveLength(1);
      expect(files[0]).toContain(id ?? "");
      expect(files[0]).not.toContain("dave");
      const text = readFileSync(path.join(dir, "outbox", files[0] ?? ""), "utf8");
      expect(text).toMatch(/^Message-ID: <.+@callplane>/im);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an SMTP URL that does not parse, or one that carries a password", () => {
    expect(() => parseSmtpUrl("not a url")).toThrow(/is not an SMTP URL/);
    expect(() => parseSmtpUrl("http://mail.contoso.com")).toThrow(/must start with smtp:\/\/ or smtps:\/\//);
    expect(() => parseSmtpUrl("smtp://me:secret@mail.contoso.com:587")).toThrow(/CALLPLANE_SMTP_PASSWORD/);
    expect(parseSmtpUrl("smtps://mail.contoso.com")).toMatchObject({ secure: true, port: 465 });
    expect(parseSmtpUrl("smtp://relay@mail.contoso.com:2525?starttls=required")).toMatchObject({
      secure: false,
      port: 2525,
      user: "relay",
      requireTls: true,
    });
  });
});
