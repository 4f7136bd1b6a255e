import { describe, expect, it } from "vitest";
import {
  auditSnapshot,
  type DialInSnapshot,
  decideEnable,
  type EnableDecision,
  type EnableRules,
  type EnableState,
} from "./dial-in-decision.ts";

const upn = "pat@contoso.com";

function user(over: Partial<EnableState> = {}): EnableState {
  return { userId: "u1", userPrincipalName: upn, displayName: "Pat", licensed: true, onMicrosoft: false, provider: null, ...over };
}

const single: EnableRules = { replaceProvider: false, job: false };
const singleReplace: EnableRules = { replaceProvider: true, job: false };
const job: EnableRules = { replaceProvider: true, job: true };
const jobDry: EnableRules = { replaceProvider: true, job: true, dryRun: true };

const licenceSingle = `${upn} does not have a valid Audio Conferencing licence: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`;
const licenceJob = `${upn} does not have a valid Audio Conferencing licence assigned: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`;

describe("decideEnable", () => {
  const cases: { name: string; state: EnableState; rules: EnableRules; expected: EnableDecision }[] = [
    {
      name: "a licensed user with no provider changes to Microsoft",
      state: user(),
      rules: single,
      expected: { kind: "change", outcome: "changed", previous: null, message: `The provider of ${upn} has changed to Microsoft.` },
    },
    {
      name: "a third-party user is refused without --replace-provider",
      state: user({ provider: "InterCall" }),
      rules: single,
      expected: {
        kind: "fail",
        code: "provider_conflict",
        outcome: "provider-conflict",
        message: `${upn} uses InterCall for audio conferencing: run again with --replace-provider to make Microsoft the provider (the InterCall details are archived and can be restored).`,
      },
    },
    {
      name: "a third-party user is moved with --replace-provider, naming what it replaces",
      state: user({ provider: "InterCall" }),
      rules: singleReplace,
      expected: {
        kind: "change",
        outcome: "changed",
        previous: "InterCall",
        message: `The provider of ${upn} has changed from InterCall to Microsoft.`,
      },
    },
    {
      name: "a user already on Microsoft is left alone (before the licence is looked at)",
      state: user({ onMicrosoft: true, licensed: false }),
      rules: single,
      expected: { kind: "noop", outcome: "already-microsoft", message: `The provider of ${upn} is already set to Microsoft.` },
    },
    {
      name: "the single command refuses a user without the licence",
      state: user({ licensed: false, provider: "InterCall" }),
      rules: singleReplace,
      expected: { kind: "fail", code: "licence_required", outcome: "no-licence", message: licenceSingle },
    },
    {
      name: "the licence is checked before the provider conflict",
      state: user({ licensed: false, provider: "InterCall" }),
      rules: single,
      expected: { kind: "fail", code: "licence_required", outcome: "no-licence", message: licenceSingle },
    },
    {
      name: "a job item without the licence fails with the job's wording",
      state: user({ licensed: false }),
      rules: job,
      expected: { kind: "fail", code: "licence_required", outcome: "no-licence", message: licenceJob },
    },
    {
      name: "a job replaces a third-party provider",
      state: user({ provider: "PGi" }),
      rules: job,
      expected: {
        kind: "change",
        outcome: "changed",
        previous: "PGi",
        message: `The provider of ${upn} has changed from PGi to Microsoft.`,
      },
    },
    {
      name: "a dry run says what would change",
      state: user({ provider: "PGi" }),
      rules: jobDry,
      expected: {
        kind: "change",
        outcome: "changed",
        previous: "PGi",
        message: `Would change the provider of ${upn} from PGi to Microsoft.`,
      },
    },
    {
      name: "a dry run for a user with no provider",
      state: user(),
      rules: jobDry,
      expected: { kind: "change", outcome: "changed", previous: null, message: `Would change the provider of ${upn} to Microsoft.` },
    },
    {
      name: "a dry run still reports a user already on Microsoft",
      state: user({ onMicrosoft: true }),
      rules: jobDry,
      expected: { kind: "noop", outcome: "already-microsoft", message: `The provider of ${upn} is already set to Microsoft.` },
    },
  ];

  it.each(cases)("$name", ({ state, rules, expected }) => {
    expect(decideEnable(state, rules)).toEqual(expected);
  });
});

const dialIn: DialInSnapshot = {
  bridgeId: "b1",
  conferenceId: "1234567",
  pinHash: "hmac-sha256$x",
  serviceNumber: "+14255551234",
  tollFreeServiceNumber: null,
  allowPstnOnlyMeetings: false,
  allowTollFreeDialIn: true,
};

describe("auditSnapshot", () => {
  it("keeps everything but the PIN hash, naming Microsoft", () => {
    expect(auditSnapshot(dialIn)).toEqual({
      provider: "Microsoft",
      bridgeId: "b1",
      conferenceId: "1234567",
      serviceNumber: "+14255551234",
      tollFreeServiceNumber: null,
      allowPstnOnlyMeetings: false,
      allowTollFreeDialIn: true,
    });
    expect(auditSnapshot(null)).toBeNull();
  });
});
