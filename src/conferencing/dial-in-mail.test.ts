import { describe, expect, it } from "vitest";
import { dialInMail, enabledMail, type MailSender, mailSender } from "./dial-in-mail.ts";

describe("mailSender", () => {
  const cases: {
    name: string;
    settings: { sendEmailFromOverride: boolean; sendEmailFromAddress: string | null; sendEmailFromDisplayName: string | null };
    expected: MailSender;
  }[] = [
    {
      name: "no override: no-reply at the tenant's domain, from Audio Conferencing",
      settings: { sendEmailFromOverride: false, sendEmailFromAddress: null, sendEmailFromDisplayName: null },
      expected: { from: "no-reply@contoso.com", fromName: "Audio Conferencing" },
    },
    {
      name: "an address and name set but the override off: still the defaults",
      settings: { sendEmailFromOverride: false, sendEmailFromAddress: "audio@contoso.com", sendEmailFromDisplayName: "Contoso Audio" },
      expected: { from: "no-reply@contoso.com", fromName: "Audio Conferencing" },
    },
    {
      name: "the override with both: the tenant's address and name",
      settings: { sendEmailFromOverride: true, sendEmailFromAddress: "audio@contoso.com", sendEmailFromDisplayName: "Contoso Audio" },
      expected: { from: "audio@contoso.com", fromName: "Contoso Audio" },
    },
    {
      name: "the override with an address only: the default name",
      settings: { sendEmailFromOverride: true, sendEmailFromAddress: "audio@contoso.com", sendEmailFromDisplayName: null },
      expected: { from: "audio@contoso.com", fromName: "Audio Conferencing" },
    },
    {
      name: "the override with a name only: the default address",
      settings: { sendEmailFromOverride: true, sendEmailFromAddress: null, sendEmailFromDisplayName: "Contoso Audio" },
      expected: { from: "no-reply@contoso.com", fromName: "Contoso Audio" },
    },
    {
      name: "empty strings count as unset",
      settings: { sendEmailFromOverride: true, sendEmailFromAddress: "", sendEmailFromDisplayName: "" },
      expected: { from: "no-reply@contoso.com", fromName: "Audio Conferencing" },
    },
  ];

  it.each(cases)("$name", ({ settings, expected }) => {
    expect(mailSender(settings, "contoso.com")).toEqual(expected);
  });
});

const sender: MailSender = { from: "no-reply@contoso.com", fromName: "Audio Conferencing" };
const pat = { userPrincipalName: "pat@contoso.com", displayName: "Pat Lee" };
const numbers = { conferenceId: "1234567", serviceNumber: "+14255551234", tollFreeServiceNumber: "+18005550100" };

describe("enabledMail", () => {
  it.each([
    {
      previousProvider: "InterCall",
      line: "Your audio conferencing provider has changed from InterCall to Microsoft. Your old conference details no longer work for new meetings.",
    },
    { previousProvider: null, line: "You can now host meetings that people join by phone." },
  ])("tells a user who had $previousProvider what changed, with the details and the PIN", ({ previousProvider, line }) => {
    expect(enabledMail(sender, { ...pat, ...numbers, pin: "24680", previousProvider })).toEqual({
      to: "pat@contoso.com",
      toName: "Pat Lee",
      from: "no-reply@contoso.com",
      fromName: "Audio Conferencing",
      subject: "Your dial-in conferencing details",
      conferenceId: "1234567",
      tollNumber: "+14255551234",
      tollFreeNumber: "+18005550100",
      pin: "24680",
      lines: [line],
    });
  });
});

describe("dialInMail", () => {
  it("carries no numbers and no PIN when there are none (dial-in turned off)", () => {
    expect(dialInMail(sender, pat, "Dial-in conferencing is off", ["Off."], null, null)).toMatchObject({
      conferenceId: null,
      tollNumber: null,
      tollFreeNumber: null,
      pin: null,
      lines: ["Off."],
    });
  });
});
