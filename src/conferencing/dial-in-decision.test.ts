import { describe, expect, it } from "vitest";
import {
  type ArchiveData,
  type ArchiveFound,
  auditSnapshot,
  type DialInSnapshot,
  decideEnable,
  decideRestore,
  type EnableDecision,
  type EnableRules,
  type EnableState,
  type RestoreDecision,
  type RestoreRules,
  type RestoreState,
  restoredMessage,
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

const intercall = {
  name: "InterCall",
  domain: "intercall.com",
  tollNumber: "+14255550150",
  tollFreeNumbers: [],
  participantPasscode: "7654321",
  url: null,
  isDefault: true,
};

function archive(data: Partial<ArchiveData> = {}, over: Partial<ArchiveFound> = {}): ArchiveFound {
  return {
    id: 7,
    operation: "conferencing.enable",
    createdAt: "2024-05-01T10:00:00.000Z",
    restored: false,
    data: { provider: "InterCall", acpEntries: [intercall], dialIn: null, ...data },
    ...over,
  };
}

function restoreState(over: Partial<RestoreState> = {}, licensed = true): RestoreState {
  return {
    name: upn,
    user: { userId: "u1", userPrincipalName: upn, displayName: "Pat", licensed, provider: "Microsoft", dialIn, acpEntries: [] },
    archive: archive(),
    conferenceIdHeldBy: null,
    ...over,
  };
}

const toMicrosoft = archive({ provider: "Microsoft", acpEntries: [], dialIn });
const single1: RestoreRules = { job: false };
const job1: RestoreRules = { job: true };
const licenceRestoreJob = `Cannot restore ${upn} to Microsoft: it does not have a valid Audio Conferencing licence. Assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`, then restore the job again.`;

describe("decideRestore", () => {
  const cases: { name: string; state: RestoreState; rules: RestoreRules; expected: Partial<RestoreDecision> }[] = [
    {
      name: "the single command puts back a third-party provider",
      state: restoreState(),
      rules: single1,
      expected: { kind: "restore", outcome: "restored", archive: archive() },
    },
    {
      name: "a job item puts it back, naming the provider",
      state: restoreState(),
      rules: job1,
      expected: { kind: "restore", outcome: "restored", message: `Restored ${upn} to InterCall.` },
    },
    {
      name: "a dry-run job item says what it would do",
      state: restoreState(),
      rules: { job: true, dryRun: true },
      expected: { kind: "restore", message: `Would restore ${upn} to InterCall.` },
    },
    {
      name: "an archive of no provider goes back to no provider",
      state: restoreState({ archive: archive({ provider: null, acpEntries: [] }) }),
      rules: job1,
      expected: { kind: "restore", message: `Restored ${upn} to no provider.` },
    },
    {
      name: "nothing archived, for the single command",
      state: restoreState({ archive: null }),
      rules: single1,
      expected: {
        kind: "fail",
        code: "nothing_to_restore",
        outcome: "nothing-to-restore",
        message: `Nothing is archived for ${upn}: no earlier provider or dial-in settings to go back to.`,
      },
    },
    {
      name: "a job item whose archive is gone",
      state: restoreState({ archive: null }),
      rules: job1,
      expected: { kind: "fail", outcome: "not-found", message: `${upn} or its archive no longer exists.` },
    },
    {
      name: "a job item whose user is gone",
      state: restoreState({ user: null }),
      rules: job1,
      expected: { kind: "fail", outcome: "not-found", message: `${upn} or its archive no longer exists.` },
    },
    {
      name: "a job item restored already",
      state: restoreState({ archive: archive({}, { restored: true }) }),
      rules: job1,
      expected: { kind: "noop", outcome: "already-restored", message: `${upn} was restored already.` },
    },
    {
      name: "the single command names who holds the conference ID now",
      state: restoreState({ archive: toMicrosoft, conferenceIdHeldBy: "sam@contoso.com" }),
      rules: single1,
      expected: {
        kind: "fail",
        code: "conference_id_taken",
        outcome: "conference-id-taken",
        message: `Cannot restore ${upn}: conference ID 1234567 is now held by sam@contoso.com. Nothing was changed.`,
      },
    },
    {
      name: "a job item says only that another user holds it",
      state: restoreState({ archive: toMicrosoft, conferenceIdHeldBy: "sam@contoso.com" }),
      rules: job1,
      expected: {
        kind: "fail",
        outcome: "conference-id-taken",
        message: `Cannot restore ${upn}: conference ID 1234567 is now held by another user.`,
      },
    },
    {
      name: "a held conference ID does not matter when the archive has no dial-in",
      state: restoreState({ conferenceIdHeldBy: "sam@contoso.com" }),
      rules: job1,
      expected: { kind: "restore" },
    },
    {
      name: "the single command never brings Microsoft back without the licence",
      state: restoreState({ archive: toMicrosoft }, false),
      rules: single1,
      expected: {
        kind: "fail",
        code: "licence_required",
        outcome: "no-licence",
        message: `${upn} does not have a valid Audio Conferencing licence: assign one with \`callplane licences assign ${upn} --sku MCOMEETADV\`.`,
      },
    },
    {
      name: "nor does a job item, with the job's wording",
      state: restoreState({ archive: toMicrosoft }, false),
      rules: job1,
      expected: { kind: "fail", code: "licence_required", outcome: "no-licence", message: licenceRestoreJob },
    },
    {
      name: "an unlicensed user can go back to a third-party provider",
      state: restoreState({}, false),
      rules: single1,
      expected: { kind: "restore" },
    },
    {
      name: "the single command checks the licence before the conference ID",
      state: restoreState({ archive: toMicrosoft, conferenceIdHeldBy: "sam@contoso.com" }, false),
      rules: single1,
      expected: { outcome: "no-licence" },
    },
    {
      name: "a job item checks the conference ID before the licence",
      state: restoreState({ archive: toMicrosoft, conferenceIdHeldBy: "sam@contoso.com" }, false),
      rules: job1,
      expected: { outcome: "conference-id-taken" },
    },
  ];

  it.each(cases)("$name", ({ state, rules, expected }) => {
    expect(decideRestore(state, rules)).toMatchObject(expected);
  });

  it("words the single restore's answer with the provider read back and the archive's operation and time", () => {
    expect(restoredMessage(upn, "InterCall", archive())).toBe(
      `Restored ${upn} to InterCall as it was before conferencing.enable on 2024-05-01T10:00:00.000Z.`,
    );
    expect(restoredMessage(upn, null, archive())).toBe(
      `Restored ${upn} to no provider as it was before conferencing.enable on 2024-05-01T10:00:00.000Z.`,
    );
  });
});

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
