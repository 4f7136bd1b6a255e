// The SMTP sink the mail tests use, checked through a real SMTP client (nodemailer): what it stores
// is what was sent, and each way it can answer (defer, reject, delay, down) reaches the client as a
// real server's would.
import nodemailer from "nodemailer";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { describeSmtp, type SmtpSink, startSmtpSink } from "./support/smtp-sink.ts";

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** The error a send ended with (fails the test if it succeeded). */
async function failure(send: Promise<unknown>): Promise<SmtpFailure> {
  const outcome = await send.then(
    () => undefined,
    (e: unknown) => e as SmtpFailure,
  );
  if (!outcome) throw new Error("The send was expected to fail, but it succeeded.");
  return outcome;
}

describeSmtp("SMTP sink", () => {
  let sink: SmtpSink;
  const mail = (to: string | string[], subject = "Your dial-in PIN") => ({
    from: "Callplane <noreply@contoso.example>",
    to,
    subject,
    text: "Your new PIN is 4821.\nConference ID: 123 456 789",
    html: "<p>Your new PIN is <b>4821</b>.</p>",
  });
  const transport = (options: { socketTimeout?: number } = {}) => nodemailer.createTransport({ url: sink.url, ...options });

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.stop();
  });
  beforeEach(() => {
    sink.setMode("accept");
    sink.reject([]);
    sink.setDelay(0);
  });

  it("stores a message as sent: envelope, Message-ID, headers and its text", async () => {
    const before = sink.messages().length;
    const info = await transport().sendMail(mail("Zoë Adams <zoe@contoso.example>", "Ihre Einwahl-PIN für Zoë"));
    const got = sink.messages();
    expect(got).toHaveLength(before + 1);
    const m = got[got.length - 1];
    expect(m?.headers["message-id"]).toBe(info.messageId);
    expect(m?.from).toBe("noreply@contoso.example");
    expect(m?.to).toEqual(["zoe@contoso.example"]);
    expect(m?.headers.subject).toBe("Ihre Einwahl-PIN für Zoë");
    expect(m?.headers.to).toBe("Zoë Adams <zoe@contoso.example>");
    expect(m?.headers.from).toBe("Callplane <noreply@contoso.example>");
    expect(m?.text).toBe("Your new PIN is 4821.\nConference ID: 123 456 789");
    expect(m?.html).toBe("<p>Your new PIN is <b>4821</b>.</p>");
    expect(m?.raw).toContain(`Message-ID: ${info.messageId}`);
  });

  it("defer mode answers 451 and stores nothing; accept mode takes the same mail again", async () => {
    const before = sink.messages().length;
    sink.setMode("defer");
    const e = await failure(transport().sendMail(mail("zoe@contoso.example")));
    expect(e.responseCode).toBe(451);
    expect(e.response).toBe("451 4.3.0 Try again later");
    expect(sink.messages()).toHaveLength(before);

    sink.setMode("accept");
    await transport().sendMail(mail("zoe@contoso.example"));
    expect(sink.messages()).toHaveLength(before + 1);
  });

  it("reject mode answers 550 for the listed address only, in any case", async () => {
    sink.reject(["Gone@Contoso.example"]);
    const info = await transport().sendMail(mail(["zoe@contoso.example", "gone@contoso.example"]));
    expect(info.accepted).toEqual(["zoe@contoso.example"]);
    expect(info.rejected).toEqual(["gone@contoso.example"]);
    const { rejectedErrors } = info as typeof info & { rejectedErrors?: SmtpFailure[] };
    expect(rejectedErrors?.map((r) => r.responseCode)).toEqual([550]);
    expect(rejectedErrors?.[0]?.response).toBe("550 5.1.1 <gone@contoso.example>: Recipient address rejected: User unknown");
    const last = sink.messages().at(-1);
    expect(last?.headers["message-id"]).toBe(info.messageId);
    expect(last?.to).toEqual(["zoe@contoso.example"]);

    const e = await failure(transport().sendMail(mail("gone@contoso.example")));
    expect(e.responseCode).toBe(550);
  });

  it("a client that gives up during a delayed DATA leaves nothing stored; one that waits gets its 250", async () => {
    const before = sink.messages().length;
    sink.setDelay(1_500);
    const e = await failure(transport({ socketTimeout: 300 }).sendMail(mail("zoe@contoso.example")));
    expect(e.code).toBe("ETIMEDOUT");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(sink.messages()).toHaveLength(before);

    const started = Date.now();
    const info = await transport().sendMail(mail("zoe@contoso.example"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(sink.messages().at(-1)?.headers["message-id"]).toBe(info.messageId);
  });

  it("down refuses connections; up on the same port takes mail again and keeps what was stored", async () => {
    await transport().sendMail(mail("zoe@contoso.example", "before"));
    const before = sink.messages();
    const port = sink.port;

    await sink.down();
    const e = await failure(transport().sendMail(mail("zoe@contoso.example", "while down")));
    expect(e.code).toBe("ESOCKET");

    await sink.up();
    expect(sink.port).toBe(port);
    const info = await transport().sendMail(mail("zoe@contoso.example", "after"));
    const after = sink.messages();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)?.n).toBe(before.length + 1);
    expect(after.at(-1)?.headers["message-id"]).toBe(info.messageId);

    await sink.restart();
    await transport().sendMail(mail("zoe@contoso.example", "after restart"));
    expect(sink.messages().at(-1)?.headers.subject).toBe("after restart");
  });
});
