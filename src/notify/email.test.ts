import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type DialInEmail, writeOutbox } from "./email.ts";

const mail: DialInEmail = {
  to: "pat@contoso.com",
  toName: "Pat",
  from: "no-reply@contoso.com",
  fromName: "Audio Conferencing",
  subject: "Your dial-in conferencing details",
  conferenceId: "3659305",
  tollNumber: "+14255551234",
  tollFreeNumber: null,
  pin: "13579",
  lines: ["You can now host meetings that people join by phone."],
};

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("writeOutbox", () => {
  it("keeps every email when several reach the same user at the same moment", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "callplane-outbox-test-"));
    // Started together, the calls share a millisecond: each PIN email must still be its own file.
    const written = await Promise.all([
      writeOutbox(dir, [mail]),
      writeOutbox(dir, [{ ...mail, pin: "24680" }]),
      writeOutbox(dir, [{ ...mail, pin: "97531" }]),
    ]);
    expect(written.flat()).toHaveLength(3);
    const pins = readdirSync(dir)
      .map((f) => /Leader PIN: ([0-9]+)/.exec(readFileSync(path.join(dir, f), "utf8"))?.[1])
      .sort();
    expect(pins).toEqual(["13579", "24680", "97531"]);
  });
});
