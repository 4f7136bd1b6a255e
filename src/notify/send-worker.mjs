// The mail transport's thread: nodemailer builds each message (headers, encoded display names, text and
// HTML parts) and sends it over SMTP or writes it as an .eml file, off the thread that runs the store and
// the bulk jobs. Plain JavaScript: a worker thread loads it without the TypeScript loader.
// Messages in: { id, mail } (a RenderedMail). Out: { id, outcome } where outcome is
// { ok: true, response } | { ok: false, permanent, error }.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import nodemailer from "nodemailer";

/** Deferred for 4xx answers and connection trouble, refused for good for 5xx: the server's answer is kept. */
function classify(err) {
  const e = err ?? {};
  const answer = e.response ?? e.message ?? String(err);
  if (typeof e.responseCode === "number" && e.responseCode >= 500) return { ok: false, permanent: true, error: answer };
  if (typeof e.responseCode === "number") return { ok: false, permanent: false, error: answer };
  return { ok: false, permanent: false, error: `${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}` };
}

const settings = workerData;
let send;
let close = () => undefined;
// Whether the messages can go: the mail server greets (and takes the login), or the folder can be made.
let verify = async () => mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
if (settings.kind === "smtp") {
  const transporter = nodemailer.createTransport(settings.options);
  send = async (mail) => {
    try {
      const info = await transporter.sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true });
      return { ok: true, response: String(info.response ?? "accepted") };
    } catch (err) {
      return classify(err);
    }
  };
  close = () => transporter.close();
  verify = () => transporter.verify();
} else {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  const dir = settings.dir;
  send = async (mail) => {
    const name = `${mail.date.toISOString().replace(/[:.]/g, "-")}-${mail.messageId.replace(/[^a-zA-Z0-9-]/g, "")}.eml`;
    const failed = (err) => ({
      ok: false,
      permanent: false,
      error: `Could not write to the outbox folder ${dir}: ${err?.message ?? String(err)}`,
    });
    let message;
    try {
      message = (await builder.sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true })).message;
      // A file (not a folder) in the folder's place fails here, never passing for a message written.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      return failed(err);
    }
    try {
      // Owner-only: the file holds the PIN. Named by the message's id, never by user data.
      writeFileSync(path.join(dir, name), message, { mode: 0o600, flag: "wx" });
      return { ok: true, response: `written to ${path.join(dir, name)}` };
    } catch (err) {
      // This very file, written by a process killed before it could record that: the same message, once.
      if (err && err.code === "EEXIST") return { ok: true, response: `already written to ${path.join(dir, name)}` };
      return failed(err);
    }
  };
}

parentPort.on("message", (m) => {
  if (m === "close") {
    close();
    parentPort.close();
    return;
  }
  if (m.verify) {
    verify().then(
      () => parentPort.postMessage({ id: m.id, outcome: { ok: true, response: "the mail server answers" } }),
      (err) => parentPort.postMessage({ id: m.id, outcome: classify(err) }),
    );
    return;
  }
  send(m.mail).then(
    (outcome) => parentPort.postMessage({ id: m.id, outcome }),
    (err) => parentPort.postMessage({ id: m.id, outcome: classify(err) }),
  );
});
