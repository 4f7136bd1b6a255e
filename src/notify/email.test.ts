import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { DialInEmail } from "./email.ts";
import { renderMail } from "./render.ts";
import { emlTransport } from "./transport.ts";

const mail: DialInEmail = {
  to: "pat@contoso.com",
  toName: "Pat",
  from: "no-reply@contoso.com",
  fromName: "Audio Conferencing",
  subject: "Your dial-in conferencing details",
  conferenceId: "3659305",
  tollNumber: "+14255551234",
  tollPlace: "Redmond, United States",
  tollFreeNumber: null,
  pin: "13579",
  lines: ["You can now host meetings that people join by phone."],
};

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the .eml transport", () => {
  it("keeps every email when several reach the same user at the same moment, each owner-only", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "callplane-outbox-test-"));
    const eml = emlTransport(path.join(dir, "outbox"));
    const at = new Date();
    try {
      // Sent together, the messages share a millisecond: each PIN email must still be its own file.
      const sent = await Promise.all(
        ["13579", "24680", "97531"].map((pin, i) => eml.send(renderMail({ ...mail, pin }, `m${i}-x@callplane`, at))),
      );
      expect(sent.every((s) => s.ok)).toBe(true);
    } finally {
      eml.close();
    }
    const out = path.join(dir, "outbox");
    const files = readdirSync(out);
    const pins = files.map((f) => /Leader PIN: ([0-9]+)/.exec(readFileSync(path.join(out, f), "utf8"))?.[1]).sort();
    expect(pins).toEqual(["13579", "24680", "97531"]);
    for (const f of files) expect(statSync(path.join(out, f)).mode & 0o077).toBe(0);
    expect(statSync(out).mode & 0o077).toBe(0);
    const text = readFileSync(path.join(out, files[0] ?? ""), "utf8");
    expect(text).toContain("Dial-in number (toll): +14255551234 (Redmond, United States)");
  });
});
