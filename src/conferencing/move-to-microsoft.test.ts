import { parse } from "csv-parse/sync";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archivesOf,
  countOf,
  emailsTo,
  expectAppError,
  expectNoPinHash,
  INTERCALL_ENTRY,
  makeUser,
  newTenant,
  outboxCount,
  pinHashOf,
  pinInEmail,
  type TenantFixture,
  tenantSnapshot,
} from "../../test/support/fixtures.ts";
import { openTestRuntime, type TestRuntime } from "../../test/support/store.ts";
import { listAuditEvents } from "../audit/audit.service.ts";
import type { Ctx } from "../core/context.ts";
import { readCsvBytes, readIdentityCsvFile } from "../core/identity-list.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { getUser, type UserView } from "../directory/users.service.ts";
import { exportJobResultsCsv, getJob, listJobResults, listJobs, runJob } from "../jobs/jobs.service.ts";
import { rows } from "../store/db.ts";
import { disableDialIn, getConferencingSummary, getDialIn, MICROSOFT_DOMAIN } from "./dial-in.service.ts";
import { MOVE_TO_MICROSOFT, moveUsersToMicrosoft, planMoveToMicrosoft } from "./move-to-microsoft.service.ts";
import { verifyPin } from "./pin.ts";
import { setConferencingSettings } from "./settings.service.ts";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await openTestRuntime();
});

afterAll(async () => {
  await rt?.close();
});

/** The seed script's cast: licensed InterCall and PGi users, one already on Microsoft, one unlicensed, one licensed with no provider. */
async function mixedTenant(): Promise<{ t: TenantFixture; u: Record<string, UserView> }> {
  const t = await newTenant(rt);
  const u: Record<string, UserView> = {
    inter: await makeUser(t, "inter", { provider: "InterCall", alias: "inter-alias" }),
    pgi: await makeUser(t, "pgi", { provider: "PGi" }),
    ms: await makeUser(t, "ms"),
    unlicensed: await makeUser(t, "unlicensed", { provider: "InterCall", licensed: false }),
    bare: await makeUser(t, "bare"),
  };
  // Licensed, but with dial-in turned off again: no provider at all.
  await disableDialIn(t.ctx, u.bare?.userPrincipalName ?? "", {});
  return { t, u };
}

async function providerCounts(ctx: Ctx): Promise<Record<string, number>> {
  return (await getConferencingSummary(ctx)).byProvider;
}

const outcomesOf = (results: { identity: string; outcome: string }[]) => results.map((r) => [r.identity, r.outcome]);

describe("moveUsersToMicrosoft by user list (-UserList)", () => {
  it("trims spaces around identities, and reports each user's outcome as the seed script does", async () => {
    const { t, u } = await mixedTenant();
    const list = ` ${t.upn("inter")}, ${t.upn("pgi")} ,${t.upn("ms")}, ${t.upn("unlicensed")}, ghost@nowhere.com, ${t.upn("bare")}`;

    const { job, resumed, input, report } = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });

    expect(resumed).toBe(false);
    expect(input).toMatchObject({ source: "user-list", count: 6, duplicates: 0 });
    // Waited for, the answer is the job as it ended, not as it was planned.
    expect(job).toMatchObject({ kind: MOVE_TO_MICROSOFT, dryRun: false, total: 6, actor: "admin:test", status: "completed", processed: 6 });
    expect(job).toEqual(report?.job);
    expect(report?.summary).toEqual({ changed: 3, unchanged: 1, failed: 2 });
    expect(report?.job).toMatchObject({ status: "completed", processed: 6 });
    expect(outcomesOf(report?.results ?? [])).toEqual([
      [t.upn("inter"), "changed"],
      [t.upn("pgi"), "changed"],
      [t.upn("ms"), "already-microsoft"],
      [t.upn("unlicensed"), "no-licence"],
      ["ghost@nowhere.com", "not-found"],
      [t.upn("bare"), "changed"],
    ]);
    const message = (identity: string) => report?.results.find((r) => r.identity === identity)?.message ?? "";
    expect(message(t.upn("inter"))).toBe(`The provider of ${t.upn("inter")} has changed from InterCall to Microsoft.`);
    expect(message(t.upn("ms"))).toBe(`The provider of ${t.upn("ms")} is already set to Microsoft.`);
    expect(message(t.upn("unlicensed"))).toContain("does not have a valid Audio Conferencing licence assigned");
    expect(message(t.upn("unlicensed"))).toContain(`callplane licences assign ${t.upn("unlicensed")} --sku MCOMEETADV`);
    expect(message("ghost@nowhere.com")).toContain("There was an error while retrieving user ghost@nowhere.com");

    // The store agrees with the report.
    for (const name of ["inter", "pgi", "bare"]) {
      const dialIn = await getDialIn(t.ctx, t.upn(name));
      expect(dialIn).toMatchObject({ provider: "Microsoft", domain: MICROSOFT_DOMAIN, serviceNumber: "+14255551234" });
    }
    expect((await getUser(t.ctx, u.unlicensed?.id ?? "")).provider.name).toBe("InterCall");
    expect(await providerCounts(t.ctx)).toEqual({ Microsoft: 4, InterCall: 1 });
    expectNoPinHash(report);
  });

  it("archives what it replaces, audits each change under the job, and emails each user a PIN that matches the stored hash", async () => {
    const { t, u } = await mixedTenant();
    const { job } = await moveUsersToMicrosoft(t.ctx, { userList: `${t.upn("inter")},${t.upn("bare")},${t.upn("ms")}` }, { wait: true });

    const interArchives = await archivesOf(t.ctx, u.inter?.id ?? "");
    expect(interArchives.filter((a) => a.jobId === job.id)).toMatchObject([
      {
        operation: MOVE_TO_MICROSOFT,
        data: {
          provider: "InterCall",
          dialIn: null,
          acpEntries: [
            { name: "InterCall", tollNumber: INTERCALL_ENTRY.tollNumber, participantPasscode: INTERCALL_ENTRY.participantPasscode },
          ],
        },
      },
    ]);
    const bareArchives = (await archivesOf(t.ctx, u.bare?.id ?? "")).filter((a) => a.jobId === job.id);
    expect(bareArchives).toMatchObject([{ data: { provider: null, acpEntries: [], dialIn: null } }]);
    // Nothing archived for the user who did not change.
    expect((await archivesOf(t.ctx, u.ms?.id ?? "")).filter((a) => a.jobId === job.id)).toEqual([]);

    const events = await listAuditEvents(t.ctx, { jobId: job.id });
    expect(events.map((e) => e.targetId).sort()).toEqual([u.inter?.id, u.bare?.id].sort());
    const interEvent = events.find((e) => e.targetId === u.inter?.id);
    const interDialIn = await getDialIn(t.ctx, t.upn("inter"));
    expect(interEvent).toMatchObject({
      actor: "admin:test",
      operation: "conferencing.enable",
      before: { provider: "InterCall", acpEntries: [{ name: "InterCall" }] },
      after: { provider: "Microsoft", domain: MICROSOFT_DOMAIN, conferenceId: interDialIn.conferenceId, pinReset: true },
    });
    expectNoPinHash(events);

    for (const name of ["inter", "bare"]) {
      const user = u[name] as UserView;
      const mails = await emailsTo(rt, user.userPrincipalName);
      const mail = mails.at(-1) ?? "";
      const pin = pinInEmail(mail) ?? "";
      const hash = (await pinHashOf(t.ctx, user.id)) ?? "";
      expect(pin).toMatch(/^[0-9]{5}$/);
      expect(hash).not.toContain(pin);
      expect(verifyPin(pin, hash, rt.env.pinKey)).toBe(true);
      expect(mail).toContain(`Conference ID: ${(await getDialIn(t.ctx, user.userPrincipalName)).conferenceId}`);
    }
    expect((await emailsTo(rt, t.upn("inter"))).at(-1)).toContain("changed from InterCall to Microsoft");
  });

  it("collapses duplicate identities: repeats in the list, and different identities of one user", async () => {
    const { t, u } = await mixedTenant();
    const list = [t.upn("inter"), t.upn("INTER").toUpperCase(), "inter-alias", `sip:${t.upn("inter")}`, t.upn("pgi")].join(",");

    const { input, report } = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });

    expect(input).toMatchObject({ count: 4, duplicates: 1 });
    expect(outcomesOf(report?.results ?? [])).toEqual([
      [t.upn("inter"), "changed"],
      ["inter-alias", "duplicate"],
      [`sip:${t.upn("inter")}`, "duplicate"],
      [t.upn("pgi"), "changed"],
    ]);
    expect(report?.summary).toEqual({ changed: 2, unchanged: 2, failed: 0 });
    expect(
      await countOf(
        t.ctx,
        sql`select count(*) as n from audit_events where target_id = ${u.inter?.id ?? ""} and operation = 'conferencing.enable'`,
      ),
    ).toBe(1);
    expect(await emailsTo(rt, t.upn("inter"))).toHaveLength(1);
  });

  it("takes each entry of an identity array as one identity, commas included", async () => {
    const { t } = await mixedTenant();
    const kim = await makeUser(t, "kim.lee", { provider: "InterCall", displayName: "Lee, Kim" });
    const { input, report } = await moveUsersToMicrosoft(
      t.ctx,
      { identities: [" Lee, Kim ", t.upn("pgi"), t.upn("PGI").toUpperCase(), ""] },
      { wait: true },
    );
    expect(input).toMatchObject({ source: "user-list", count: 2, duplicates: 1 });
    expect(outcomesOf(report?.results ?? [])).toEqual([
      ["Lee, Kim", "changed"],
      [t.upn("pgi"), "changed"],
    ]);
    expect((await getUser(t.ctx, kim.id)).provider.kind).toBe("microsoft");
    await expectAppError(moveUsersToMicrosoft(t.ctx, { identities: [" ", ""] }, { wait: true }), "invalid_input", "empty");
  });

  it("refuses an empty list or two sources at once, creating no job", async () => {
    const { t } = await mixedTenant();
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      moveUsersToMicrosoft(t.ctx, { userList: " , ," }, { wait: true }),
      "invalid_input",
      "user list is empty",
      "--user-list",
    );
    await expectAppError(
      moveUsersToMicrosoft(t.ctx, {}, { wait: true }),
      "invalid_input",
      "--user-list",
      "--csv",
      "--from-provider",
      "--ready",
    );
    await expectAppError(
      moveUsersToMicrosoft(t.ctx, { userList: t.upn("inter"), fromProvider: "InterCall" }, { wait: true }),
      "invalid_input",
      "only one of",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await listJobs(t.ctx, {})).toEqual([]);
  });
});

describe("moveUsersToMicrosoft by CSV file (-CsvFile)", () => {
  it("skips an Email header in header-aware mode and moves the users under it", async () => {
    const { t } = await mixedTenant();
    const csv = { name: "users.csv", content: Buffer.from(`Email\r\n${t.upn("inter")}\r\n${t.upn("pgi")}\r\n\r\n`) };

    const { input, report } = await moveUsersToMicrosoft(t.ctx, { csv }, { wait: true });

    expect(input).toMatchObject({ source: "csv", column: "Email", count: 2, duplicates: 0, skipped: [] });
    expect(outcomesOf(report?.results ?? [])).toEqual([
      [t.upn("inter"), "changed"],
      [t.upn("pgi"), "changed"],
    ]);
    expect(report?.results.some((r) => r.identity.toLowerCase() === "email")).toBe(false);
  });

  it("reads a header-less file one identity per line", async () => {
    const { t } = await mixedTenant();
    const csv = { name: "plain.csv", content: Buffer.from(`${t.upn("inter")}\n${t.upn("ms")}\n`) };
    const { input, report } = await moveUsersToMicrosoft(t.ctx, { csv }, { wait: true });
    expect(input).toMatchObject({ column: null, count: 2 });
    expect(report?.summary).toEqual({ changed: 1, unchanged: 1, failed: 0 });
  });

  it("says 'File does not exist' for a missing file, before anything is planned or changed", async () => {
    const { t } = await mixedTenant();
    const before = await tenantSnapshot(t.ctx);
    const missing = `${rt.outboxDir}/no-such-dir/missing.csv`;
    await expectAppError(readCsvBytes(missing), "invalid_input", `File does not exist: ${missing}`, "--user-list");
    await expectAppError(readIdentityCsvFile(missing), "invalid_input", "File does not exist");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });

  it("refuses a binary or empty file, creating no job", async () => {
    const { t } = await mixedTenant();
    const before = await tenantSnapshot(t.ctx);
    await expectAppError(
      moveUsersToMicrosoft(
        t.ctx,
        { csv: { name: "users.xlsx", content: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]) } },
        { wait: true },
      ),
      "invalid_input",
      "users.xlsx",
      "binary",
    );
    await expectAppError(
      moveUsersToMicrosoft(t.ctx, { csv: { name: "empty.csv", content: Buffer.from("\n\n") } }, { wait: true }),
      "invalid_input",
      "empty.csv",
    );
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
  });
});

describe("moveUsersToMicrosoft by provider (-ACPProviderName) and --ready", () => {
  it("lists the supported providers for an unknown name, and changes nothing and creates no job", async () => {
    const { t } = await mixedTenant();
    const before = await tenantSnapshot(t.ctx);
    const mails = await outboxCount(rt);
    const err = await expectAppError(
      moveUsersToMicrosoft(t.ctx, { fromProvider: "Nope" }, { wait: true }),
      "provider_unknown",
      '"Nope" is not a supported audio conferencing provider',
      "Microsoft, Arkadin, BT Conferencing, InterCall, PGi",
    );
    expect(err.details.map((d) => d.message)).toContain("InterCall");
    expect(await tenantSnapshot(t.ctx)).toEqual(before);
    expect(await listJobs(t.ctx, {})).toEqual([]);
    expect(await outboxCount(rt)).toBe(mails);
  });

  it("matches the provider name case-insensitively and takes every user of that provider", async () => {
    const { t, u } = await mixedTenant();
    const { job, input, report } = await moveUsersToMicrosoft(t.ctx, { fromProvider: "intercall" }, { wait: true });
    expect(input).toMatchObject({ source: "provider", count: 2 });
    expect(job.params).toMatchObject({ source: "provider", fromProvider: "InterCall" });
    expect(outcomesOf(report?.results ?? [])).toEqual([
      [u.inter?.userPrincipalName, "changed"],
      [u.unlicensed?.userPrincipalName, "no-licence"],
    ]);
    expect(await providerCounts(t.ctx)).toEqual({ Microsoft: 2, PGi: 1, InterCall: 1, none: 1 });
  });

  it("--ready takes every licensed user not on Microsoft, as the admin center's banner counts them", async () => {
    const { t } = await mixedTenant();
    const before = await getConferencingSummary(t.ctx);
    expect(before.readyForAudioConferencing).toBe(3);
    const { report } = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: true });
    expect(report?.summary).toEqual({ changed: 3, unchanged: 0, failed: 0 });
    const after = await getConferencingSummary(t.ctx);
    expect(after).toMatchObject({ readyForAudioConferencing: 0, banner: null });
    expect(after.byProvider).toEqual({ Microsoft: 4, InterCall: 1 });
  });

  it("moves a demo tenant's InterCall users: counts add up and every email's PIN verifies", async () => {
    const demo = await buildDemoTenant(rt.store.db, rt.env, { users: 400, name: "DemoMove", seed: 7 });
    const ctx = await rt.ctx(demo.tenant.id, "admin:demo");
    const before = await providerCounts(ctx);
    const licensedInterCall = await countOf(
      ctx,
      sql`select count(*) as n from users u where u.tenant_id = ${ctx.tenantId}
          and exists (select 1 from user_acp_entries e where e.user_id = u.id and e.name = 'InterCall')
          and exists (select 1 from licence_assignments la join skus s on s.id = la.sku_id where la.user_id = u.id and 'MCOMEETADV' = any(s.service_plans))`,
    );
    const mailsBefore = await outboxCount(rt);

    const { report } = await moveUsersToMicrosoft(ctx, { fromProvider: "InterCall" }, { wait: true });

    expect(report?.summary).toEqual({ changed: licensedInterCall, unchanged: 0, failed: (before.InterCall ?? 0) - licensedInterCall });
    const after = await providerCounts(ctx);
    expect(after.Microsoft).toBe((before.Microsoft ?? 0) + licensedInterCall);
    expect(after.InterCall ?? 0).toBe((before.InterCall ?? 0) - licensedInterCall);
    expect(after.PGi).toBe(before.PGi);
    expect((await outboxCount(rt)) - mailsBefore).toBe(licensedInterCall);

    const changed = await listJobResults(ctx, report?.job.id ?? "", { outcome: "changed" });
    const hashes = await rows<{ user_id: string; pin_hash: string; conference_id: string }>(
      ctx.db,
      sql`select user_id, pin_hash, conference_id from dial_in_users where tenant_id = ${ctx.tenantId}`,
    );
    const hashOf = new Map(hashes.map((h) => [h.user_id, h]));
    expect(new Set(hashes.map((h) => h.conference_id)).size).toBe(hashes.length);
    for (const r of changed) {
      const stored = hashOf.get(r.userId ?? "");
      const mail = (await emailsTo(rt, r.identity)).at(-1) ?? "";
      expect(verifyPin(pinInEmail(mail) ?? "", stored?.pin_hash ?? "", rt.env.pinKey), r.identity).toBe(true);
      expect(mail).toContain(`Conference ID: ${stored?.conference_id}`);
    }
  });
});

describe("dry runs", () => {
  it("change nothing at all, and report the outcomes the real run then gives", async () => {
    const { t } = await mixedTenant();
    const list = [t.upn("inter"), "inter-alias", t.upn("pgi"), t.upn("ms"), t.upn("unlicensed"), "ghost@nowhere.com", t.upn("bare")].join(
      ", ",
    );
    const before = await tenantSnapshot(t.ctx);
    const countsBefore = await providerCounts(t.ctx);
    const mails = await outboxCount(rt);

    const dry = await moveUsersToMicrosoft(t.ctx, { userList: list, dryRun: true }, { wait: true });

    expect(dry.report?.dryRun).toBe(true);
    expect(await providerCounts(t.ctx)).toEqual(countsBefore);
    // Only the dry-run job itself is recorded.
    expect(await tenantSnapshot(t.ctx)).toEqual({ ...before, jobs: (before.jobs as number) + 1 });
    expect(await outboxCount(rt)).toBe(mails);
    expect(dry.report?.results.find((r) => r.identity === t.upn("inter"))?.message).toBe(
      `Would change the provider of ${t.upn("inter")} from InterCall to Microsoft.`,
    );

    const real = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });

    expect(real.resumed).toBe(false);
    expect(real.job.id).not.toBe(dry.job.id);
    expect(outcomesOf(real.report?.results ?? [])).toEqual(outcomesOf(dry.report?.results ?? []));
    expect(real.report?.summary).toEqual(dry.report?.summary);
    expect(real.report?.summary).toEqual({ changed: 3, unchanged: 2, failed: 2 });
    expect(await providerCounts(t.ctx)).not.toEqual(countsBefore);
  });
});

describe("job results", () => {
  it("are queryable, and the CSV export fills the error column only for failures", async () => {
    const { t } = await mixedTenant();
    const list = [t.upn("inter"), t.upn("ms"), t.upn("unlicensed"), "ghost@nowhere.com"].join(",");
    const { job } = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });

    expect((await getJob(t.ctx, job.id)).summary).toEqual({ changed: 1, unchanged: 1, failed: 2 });
    const failed = await listJobResults(t.ctx, job.id, { failedOnly: true });
    expect(failed.map((r) => [r.identity, r.outcome, r.failed])).toEqual([
      [t.upn("unlicensed"), "no-licence", true],
      ["ghost@nowhere.com", "not-found", true],
    ]);
    expect((await listJobResults(t.ctx, job.id, { outcome: "changed" })).map((r) => r.identity)).toEqual([t.upn("inter")]);
    expect((await listJobResults(t.ctx, job.id, { offset: 1, limit: 1 })).map((r) => r.seq)).toEqual([2]);

    const csv = await exportJobResultsCsv(t.ctx, job.id);
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0] ?? {})).toEqual([
      "seq",
      "identity",
      "user_id",
      "outcome",
      "changed",
      "message",
      "error",
      "processed_at",
      "notice",
    ]);
    // Every row says when its batch ran, as a -Report row's StartTime.
    for (const r of records) expect(Number.isNaN(Date.parse(r.processed_at ?? "")), r.identity).toBe(false);
    expect(records.map((r) => [r.identity, r.outcome, r.changed])).toEqual([
      [t.upn("inter"), "changed", "true"],
      [t.upn("ms"), "already-microsoft", "false"],
      [t.upn("unlicensed"), "no-licence", "false"],
      ["ghost@nowhere.com", "not-found", "false"],
    ]);
    for (const r of records) {
      const isFailure = r.outcome === "no-licence" || r.outcome === "not-found";
      expect(r.error !== "", r.identity).toBe(isFailure);
      expect(r.message !== "", r.identity).toBe(!isFailure);
    }
    // A message with commas survives quoting.
    expect(records[3]?.error).toContain("no user has this UPN, SIP address, alias or object id");
    expect(records[0]?.user_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(records[3]?.user_id).toBe("");
  });

  it("a completed job is not resumed: the same command runs again as a new job and finds nothing to do", async () => {
    const { t } = await mixedTenant();
    const list = `${t.upn("inter")}, ${t.upn("pgi")}`;
    const first = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });
    const second = await moveUsersToMicrosoft(t.ctx, { userList: list }, { wait: true });
    expect(second.resumed).toBe(false);
    expect(second.job.id).not.toBe(first.job.id);
    expect(second.report?.summary).toEqual({ changed: 0, unchanged: 2, failed: 0 });
  });

  it("runs in the background when not waited for, and the job can be followed to completion", async () => {
    const { t } = await mixedTenant();
    await setConferencingSettings(t.ctx, { automaticallySendEmailsToUsers: false });
    const mails = await outboxCount(rt);
    const start = await moveUsersToMicrosoft(t.ctx, { ready: true }, { wait: false });
    expect(start.report).toBeNull();
    // runJob joins the run already in flight rather than starting a second one.
    const done = await runJob(t.ctx, start.job.id);
    expect(done).toMatchObject({ status: "completed", processed: 3, summary: { changed: 3, unchanged: 0, failed: 0 } });
    expect(await outboxCount(rt)).toBe(mails);
    expect(await countOf(t.ctx, sql`select count(*) as n from archives where job_id = ${start.job.id}`)).toBe(3);
  });

  it("planning alone changes no user", async () => {
    const { t } = await mixedTenant();
    const counts = await providerCounts(t.ctx);
    const plan = await planMoveToMicrosoft(t.ctx, { ready: true });
    expect(plan.job).toMatchObject({ status: "pending", total: 3, processed: 0 });
    expect(await providerCounts(t.ctx)).toEqual(counts);
    expect((await listJobResults(t.ctx, plan.job.id, {}))[0]).toMatchObject({
      outcome: "pending",
      message: expect.stringContaining("resume"),
    });
  });
});

describe("audit log", () => {
  it("holds no PIN hash anywhere in the store after everything this file did", async () => {
    const [r] = await rows<{ total: string | number; leaking: string | number }>(
      rt.store.db,
      sql`select count(*) as total,
                 count(*) filter (where coalesce(before::text, '') like '%hmac-sha256$%' or coalesce(after::text, '') like '%hmac-sha256$%') as leaking
          from audit_events`,
    );
    expect(Number(r?.total)).toBeGreaterThan(100);
    expect(Number(r?.leaking)).toBe(0);
  });
});
