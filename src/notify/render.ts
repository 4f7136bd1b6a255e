// A dial-in email as the message a mail library sends: one recipient, text and HTML parts, display
// names passed as names (the library encodes them), never pasted into a header. Pure, no I/O.
import type { DialInEmail } from "./email.ts";

export interface MailAddress {
  name: string;
  address: string;
}

/** What a transport sends: nodemailer's message fields, with the envelope given explicitly. */
export interface RenderedMail {
  messageId: string;
  date: Date;
  from: MailAddress;
  to: MailAddress;
  subject: string;
  text: string;
  html: string;
  envelope: { from: string; to: string[] };
}

/** A display name on one line, without the characters that would make it read as an address list. */
function displayName(name: string): string {
  return name.replace(/[\r\n\t]+/g, " ").trim();
}

const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

/** True for one plain address (`local@domain.tld`), with no spaces, line breaks, brackets or lists. */
export function isMailAddress(value: string): boolean {
  return value.length <= 320 && ADDRESS.test(value);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const placed = (n: string | null, place: string | null | undefined) => (n && place ? `${n} (${place})` : n);

/** The lines of the message, shared by its text and HTML parts. */
function details(mail: DialInEmail): [string, string][] {
  const rows: [string, string | null][] = [
    ["Conference ID", mail.conferenceId],
    ["Dial-in number (toll)", placed(mail.tollNumber, mail.tollPlace)],
    ["Dial-in number (toll-free)", placed(mail.tollFreeNumber, mail.tollFreePlace)],
    ["Leader PIN", mail.pin],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== null);
}

/** Renders a dial-in email; throws naming the field when an address is not one plain address. */
export function renderMail(mail: DialInEmail, messageId: string, date: Date): RenderedMail {
  if (!isMailAddress(mail.to)) throw new Error(`"${mail.to.slice(0, 200)}" is not a mail address this message can be sent to.`);
  if (!isMailAddress(mail.from)) throw new Error(`The From address "${mail.from.slice(0, 200)}" is not a mail address.`);
  const rows = details(mail);
  const pinNote = mail.pin ? "Keep your PIN private: it lets you start meetings by phone. Your administrator cannot see it again." : null;
  const footer = "This message was sent by Callplane on behalf of your administrator.";
  const text = [
    `Hello ${displayName(mail.toName)},`,
    "",
    ...mail.lines,
    "",
    ...rows.map(([k, v]) => `${k}: ${v}`),
    ...(pinNote ? [pinNote] : []),
    "",
    footer,
    "",
  ].join("\r\n");
  const html = [
    "<!doctype html><html><body>",
    `<p>Hello ${escapeHtml(displayName(mail.toName))},</p>`,
    ...mail.lines.map((l) => `<p>${escapeHtml(l)}</p>`),
    rows.length
      ? `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>`
      : "",
    pinNote ? `<p>${escapeHtml(pinNote)}</p>` : "",
    `<p><small>${escapeHtml(footer)}</small></p>`,
    "</body></html>",
  ].join("\n");
  return {
    messageId,
    date,
    from: { name: displayName(mail.fromName), address: mail.from },
    to: { name: displayName(mail.toName), address: mail.to },
    subject: mail.subject.replace(/[\r\n]+/g, " "),
    text,
    html,
    envelope: { from: mail.from, to: [mail.to] },
  };
}
