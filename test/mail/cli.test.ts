// The outbox from the command line, as an administrator meets it: a change that emails the user, the
// messages listed and shown (never the PIN), a retry, delivery over SMTP to a real server, and the
// bad input the mail system can meet (an SMTP URL that does not parse, a password in it, a mail server
// that is not there, a From address that is not one address).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DialInChange } from "../../src/conferencing/dial-in.service.ts";
import type { MailDetail, MailView } from "../../src/notify/outbox.service.ts";
import { freePort, killHard, runCli, startServe } from "../reliability/support.ts";
import { describeSmtp, type SmtpSink, startSmtpSink } from "../support/smtp-sink.ts";

let dir: string;
let sink: SmtpSink;
const store = () => (process.env.DATABASE_URL ? [] : ["--data", path.join(dir, "data")]);
let dbEnv: NodeJS.ProcessEnv = {};
let drop: (() => Promise<void>) | undefined;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(dir, [...args, ...store()], 120_000, { CALLPLANE_OUTBOX: path.join(dir, "outbox"), ...dbEnv, ...env });
}

describeSmtp("the outbox from the command line", () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "callplane-mail-cli-"));
    sink = await startSmtpSink();
    if (process.env.DATABASE_URL) {
      const { throwawayDatabase } = await import("../reliability/support.ts");
      const db = await throwawayDatabase();
      drop = db.drop;
      dbEnv = { DATABASE_URL: db.url, CALLPLANE_PIN_KEY_FILE: path.join(dir, "pin.key") };
    }
    const demo = await cli(["demo", "--users", "60", "--json"]);
    expect(demo.code, demo.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await sink?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a PIN reset emails the user (.eml by default: owner-only, with the PIN); mail list and show never show the PIN", async () => {
    const users = await cli(["conferencing", "users", "--json"]);
    const [first] = JSON.parse(users.stdout) as { userPrincipalName: string }[];
    const upn = first?.userPrincipalName ?? "";
    const reset = await cli(["conferencing", "reset-pin", upn, "--json"]);
    expect(reset.code, reset.stderr).toBe(0);
    const change = JSON.parse(reset.stdout) as DialInChange;
    expect(change.pin).toMatch(/^\d+$/);
    expect(change.mail).toMatchObject({ to: upn, status: "sent", error: null });
    expect(change.warning).toBeNull();

    const human = await cli(["conferencing", "reset-pin", upn]);
    expect(human.stdout).toMatch(new RegExp(`Email to ${upn.replace(/\./g, "\\.")}: delivered \\(message [0-9a-f-]{36}\\)`));

    const outbox = path.join(dir, "outbox");
    expect(statSync(outbox).mode & 0o077).toBe(0);
    const files = readdirSync(outbox);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(statSync(path.join(outbox, f)).mode & 0o077).toBe(0);
    const texts = files.map((f) => readFileSync(path.join(outbox, f), "utf8"));
    expect(texts.some((t) => t.includes(`Leader PIN: ${change.pin}`))).toBe(true);
    expect(texts.some((t) => /^Subject: Your new dial-in conferencing PIN/m.test(t))).toBe(true);

    const list = await cli(["mail", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const mails = JSON.parse(list.stdout) as MailView[];
    const mine = mails.find((m) => m.id === change.mail?.id);
    expect(mine).toMatchObject({ kind: "dial-in.pin-reset", status: "sent", to: upn, attempts: 1 });
    expect(list.stdout).not.toContain(change.pin ?? "none");

    const show = await cli(["mail", "show", change.mail?.id ?? ""]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`Message-ID +<${change.mail?.id}@callplane>`));
    expect(show.stdout).toMatch(/sent\s+written to /);
    expect(show.stdout).not.toContain(change.pin ?? "none");
    const detail = JSON.parse((await cli(["mail", "show", change.mail?.id ?? "", "--json"])).stdout) as MailDetail;
    expect(detail).toMatchObject({ hasPin: false, status: "sent" });
    expect(JSON.stringify(detail)).not.toContain(change.pin ?? "none");

    const again = await cli(["mail", "retry", change.mail?.id ?? ""]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/was delivered already .*: it is not sent twice/);
    const neither = await cli(["mail", "retry"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("Say what to retry: a message id, or --failed.");
  }, 120_000);

  it("delivers over SMTP when given a mail server (CALLPLANE_SMTP_URL): the server receives the message with its Message-ID", async () => {
    const users = JSON.parse((await cli(["conferencing", "users", "--json"])).stdout) as { userPrincipalName: string }[];
    const upn = users[1]?.userPrincipalName ?? "";
    const before = sink.messages().length;
    const reset = await cli(["conferencing", "reset-pin", upn, "--json"], { CALLPLANE_SMTP_URL: sink.url });
    expect(reset.code, reset.stderr).toBe(0);
    const change = JSON.parse(reset.stdout) as DialInChange;
    expect(change.mail?.status).toBe("sent");
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m?.to).toEqual([upn]);
    expect(m?.headers["message-id"]).toBe(`<${change.mail?.id}@callplane>`);
    expect(m?.text).toContain(`Leader PIN: ${change.pin}`);
    expect(m?.html).toContain(change.pin ?? "none");
  }, 60_000);

  it("a mail server that is not there: the change is made, the message deferred with the reason, and the answer says so", async () => {
    const users = JSON.parse((await cli(["conferencing", "users", "--json"])).stdout) as { userPrincipalName: string }[];
    const upn = users[2]?.userPrincipalName ?? "";
    const closed = `smtp://127.0.0.1:${await freePort()}`;
    const reset = await cli(["conferencing", "reset-pin", upn, "--json"], { CALLPLANE_SMTP_URL: closed });
    expect(reset.code, reset.stderr).toBe(0);
    const change = JSON.parse(reset.stdout) as DialInChange;
    expect(change.pin).toMatch(/^\d+$/);
    expect(change.mail).toMatchObject({ status: "deferred", error: expect.stringMatching(/ECONNREFUSED/) });
    expect(change.warning).toMatch(/was not delivered yet .*ECONNREFUSED.*kept in the outbox and retried by the server/);
    const deferred = JSON.parse((await cli(["mail", "list", "--status", "deferred", "--json"])).stdout) as MailView[];
    expect(deferred.map((d) => d.id)).toContain(change.mail?.id);
    // Retried once the server answers: the same message, its PIN, delivered.
    const before = sink.messages().length;
    const retried = await cli(["mail", "retry", change.mail?.id ?? "", "--json"], { CALLPLANE_SMTP_URL: sink.url });
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ retried: 1, delivered: [{ id: change.mail?.id, status: "sent" }] });
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m?.text).toContain(`Leader PIN: ${change.pin}`);
  }, 60_000);

  it("refuses an SMTP URL that does not parse, or that carries a password, naming the fix", async () => {
    const bad = await cli(["serve", "--port", "0", "--smtp", "mail.contoso.com"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"mail.contoso.com" is not an SMTP URL: give one such as smtp://mail.contoso.com:587');
    const secret = await cli(["serve", "--port", "0", "--smtp", "smtp://relay:hunter2@mail.contoso.com:587"]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain("Do not put the SMTP password in the URL");
    expect(secret.stderr + secret.stdout).not.toContain("hunter2");
  }, 60_000);

  it("serve with a mail server that is not there starts, warns, and keeps the messages for when it answers", async () => {
    const closed = `smtp://127.0.0.1:${await freePort()}`;
    const server = await startServe(dir, ["--demo-users", "0", "--smtp", closed, ...store()], {
      CALLPLANE_OUTBOX: path.join(dir, "outbox"),
      ...dbEnv,
    });
    try {
      expect(server.output()).toMatch(
        /WARNING: the mail server smtp:\/\/127\.0\.0\.1:\d+ does not answer \(.*ECONNREFUSED.*\): emails are kept in the outbox/,
      );
    } finally {
      await killHard(server);
    }
  }, 120_000);

  it("refuses a From address that is not one plain address, or a display name with a line break", async () => {
    const setSender = (address: string, name: string) =>
      cli([
        "conferencing",
        "settings",
        "set",
        "--send-email-from-override",
        "true",
        "--send-email-from-address",
        address,
        "--send-email-from-display-name",
        name,
      ]);
    const list = await setSender("Evil <evil@attacker.example>, alice@contoso.com", "Audio");
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("is not an email address: give one plain address such as conferencing@contoso.com");
    const broken = await setSender("conferencing@contoso.com", "Audio\nBcc: everyone@contoso.com");
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("Send-email-from display name must be one line");
  }, 60_000);
});
