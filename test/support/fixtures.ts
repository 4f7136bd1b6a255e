import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { addServiceNumber, createBridge } from "../../src/conferencing/bridges.service.ts";
import { setUserAcp } from "../../src/conferencing/providers.service.ts";
import type { Ctx } from "../../src/core/context.ts";
import { AppError, type ErrorCode, translateError } from "../../src/core/errors.ts";
import { createUser, type UserView } from "../../src/directory/users.service.ts";
import { addSku, assignLicence } from "../../src/licensing/licensing.service.ts";
import { mailIdle } from "../../src/notify/outbox.service.ts";
import { rows } from "../../src/store/db.ts";
import { createTenant } from "../../src/tenancy/tenant.service.ts";
import type { TestRuntime } from "./store.ts";

/** The service numbers every fixture bridge has; the first of each type is the bridge default. */
export const BRIDGE_NUMBERS = {
  toll: "+14255551234",
  otherToll: "+12065550199",
  tollFree: "+18005550100",
} as const;

/** What a third-party user's provider entry holds, so a restore can be compared field by field. */
export const INTERCALL_ENTRY = {
  name: "InterCall",
  tollNumber: "+14255550150",
  tollFreeNumbers: ["+18665550150"],
  participantPasscode: "7654321",
  url: "https://join.intercall.com/fixture",
} as const;

let tenantSeq = 0;

export interface TenantFixture {
  ctx: Ctx;
  domain: string;
  /** A UPN in the tenant's domain. */
  upn(local: string): string;
}

/**
 * A fresh tenant in the file's store, so tests do not see each other's users. By default it has a
 * bridge with two toll numbers and a toll-free number, and 100 seats each of Audio Conferencing
 * (MCOMEETADV) and Skype for Business Online (MCOSTANDARD).
 */
export async function newTenant(
  rt: TestRuntime,
  opts: { bridge?: boolean; audioConferencingSeats?: number; actor?: string } = {},
): Promise<TenantFixture> {
  tenantSeq++;
  const name = `Fixture${process.pid}x${tenantSeq}`;
  const domain = `fixture${tenantSeq}.example.com`;
  const tenant = await createTenant(rt.store.db, { name, domain });
  const ctx = await rt.ctx(tenant.id, opts.actor ?? "admin:test");
  if (opts.bridge !== false) {
    await createBridge(ctx, { name: "Main bridge" });
    await addServiceNumber(ctx, { number: BRIDGE_NUMBERS.toll, type: "toll", city: "Redmond", country: "US" });
    await addServiceNumber(ctx, { number: BRIDGE_NUMBERS.otherToll, type: "toll", city: "Seattle", country: "US" });
    await addServiceNumber(ctx, { number: BRIDGE_NUMBERS.tollFree, type: "toll-free", country: "US" });
  }
  await addSku(ctx, { skuPartNumber: "MCOMEETADV", seats: opts.audioConferencingSeats ?? 100 });
  await addSku(ctx, { skuPartNumber: "MCOSTANDARD", seats: 100 });
  return { ctx, domain, upn: (local) => `${local}@${domain}` };
}

export interface UserSpec {
  /** Assign an Audio Conferencing licence (default true). */
  licensed?: boolean;
  /** A third-party provider entry, set before the licence so the provider stays. */
  provider?: "InterCall" | "PGi";
  displayName?: string;
  alias?: string;
  sipAddress?: string;
  usageLocation?: string | null;
}

/**
 * A user built through the services. With a licence and no third-party provider, the licence turns
 * Microsoft dial-in on when the tenant has a bridge (as Microsoft does).
 */
export async function makeUser(t: TenantFixture, local: string, spec: UserSpec = {}): Promise<UserView> {
  const upn = t.upn(local);
  let user = await createUser(t.ctx, {
    userPrincipalName: upn,
    displayName: spec.displayName,
    alias: spec.alias,
    sipAddress: spec.sipAddress,
    usageLocation: spec.usageLocation === null ? undefined : (spec.usageLocation ?? "US"),
  });
  if (spec.provider) {
    await setUserAcp(t.ctx, upn, {
      ...INTERCALL_ENTRY,
      name: spec.provider,
      tollFreeNumbers: [...INTERCALL_ENTRY.tollFreeNumbers],
    });
  }
  if (spec.licensed !== false) user = (await assignLicence(t.ctx, upn, "MCOMEETADV")).user;
  return user;
}

/**
 * The AppError a promise rejects with, after the translation every entry point applies to store
 * errors (a unique violation becomes `duplicate`); fails the test if it resolves or throws anything else.
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    const e = translateError(err);
    if (e instanceof AppError) return e;
    throw err;
  }
  throw new Error("expected the call to fail with an AppError, but it succeeded");
}

/**
 * Asserts the call fails with `code`, and that the message names what is wrong and how to fix it
 * (each fragment must appear in the message).
 */
export async function expectAppError(promise: Promise<unknown>, code: ErrorCode, ...fragments: (string | RegExp)[]): Promise<AppError> {
  const err = await rejectionOf(promise);
  expect(err.code, err.message).toBe(code);
  for (const f of fragments) {
    if (typeof f === "string") expect(err.message).toContain(f);
    else expect(err.message).toMatch(f);
  }
  return err;
}

/**
 * Everything a tenant's conferencing state is made of, row by row: comparing two snapshots shows
 * whether a call changed anything at all (nothing half-written after an error).
 */
export async function tenantSnapshot(ctx: Ctx): Promise<Record<string, unknown>> {
  const t = ctx.tenantId;
  const [r] = await rows<Record<string, unknown>>(
    ctx.db,
    sql`select
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.user_principal_name), '[]') from
         (select user_principal_name, sip_address, alias, display_name, usage_location from users where tenant_id = ${t}) x) as users,
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.user_id, x.sku_id), '[]') from
         (select user_id, sku_id from licence_assignments where tenant_id = ${t}) x) as licences,
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.user_id, x.name), '[]') from
         (select user_id, name, domain, toll_number, toll_free_numbers, participant_passcode, url, is_default
          from user_acp_entries where tenant_id = ${t}) x) as acp,
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.user_id), '[]') from
         (select user_id, bridge_id, conference_id, pin_hash, service_number, toll_free_service_number,
                 allow_pstn_only_meetings, allow_toll_free_dial_in from dial_in_users where tenant_id = ${t}) x) as dial_in,
      (select to_jsonb(s) - 'updated_at' from conferencing_settings s where tenant_id = ${t}) as settings,
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.name), '[]') from
         (select name, is_default, default_service_number, default_toll_free_service_number from bridges where tenant_id = ${t}) x) as bridges,
      (select coalesce(jsonb_agg(to_jsonb(x) order by x.number), '[]') from
         (select number, type, primary_language, secondary_languages from service_numbers where tenant_id = ${t}) x) as numbers,
      (select count(*)::int from archives where tenant_id = ${t}) as archives,
      (select count(*)::int from audit_events where tenant_id = ${t}) as audit_events,
      (select count(*)::int from jobs where tenant_id = ${t}) as jobs`,
  );
  return r ?? {};
}

/** Number of rows of a query returning `n`. */
export async function countOf(ctx: Ctx, query: ReturnType<typeof sql>): Promise<number> {
  const [r] = await rows<{ n: string | number }>(ctx.db, query);
  return Number(r?.n ?? 0);
}

/** The stored PIN hash of a Microsoft dial-in user. */
export async function pinHashOf(ctx: Ctx, userId: string): Promise<string | undefined> {
  const [r] = await rows<{ pin_hash: string }>(ctx.db, sql`select pin_hash from dial_in_users where user_id = ${userId}`);
  return r?.pin_hash;
}

export interface ArchiveRow {
  id: number;
  operation: string;
  jobId: string | null;
  restored: boolean;
  data: {
    provider: string | null;
    acpEntries: Record<string, unknown>[];
    dialIn: Record<string, unknown> | null;
  };
}

/** A user's archives, oldest first. */
export async function archivesOf(ctx: Ctx, userId: string): Promise<ArchiveRow[]> {
  const r = await rows<{
    id: string | number;
    operation: string;
    job_id: string | null;
    restored_at: unknown;
    data: ArchiveRow["data"];
  }>(ctx.db, sql`select id, operation, job_id, restored_at, data from archives where user_id = ${userId} order by id`);
  return r.map((a) => ({ id: Number(a.id), operation: a.operation, jobId: a.job_id, restored: a.restored_at !== null, data: a.data }));
}

/** The .eml files in the outbox, once this process's queued emails have been delivered there. */
async function emlFiles(rt: TestRuntime): Promise<string[]> {
  await mailIdle(rt.env);
  let files: string[];
  try {
    files = readdirSync(rt.outboxDir);
  } catch {
    return [];
  }
  return files.filter((f) => f.endsWith(".eml")).sort();
}

/** A message's text as read: quoted-printable soft breaks and escapes undone (a mail client does the same). */
function decoded(eml: string): string {
  return eml.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** The delivered .eml messages addressed to `upn`, oldest first. */
export async function emailsTo(rt: TestRuntime, upn: string): Promise<string[]> {
  // File names carry no user data: the recipient is read from each message's To: header.
  const esc = upn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const to = new RegExp(`^To: (?:.*<${esc}>|${esc})\r?$`, "im");
  const files = await emlFiles(rt);
  return files
    .map((f) => readFileSync(path.join(rt.outboxDir, f), "utf8"))
    .filter((text) => to.test(text))
    .sort((a, b) => dateOf(a) - dateOf(b))
    .map(decoded);
}

const dateOf = (eml: string) => Date.parse(/^Date: (.+)$/m.exec(eml)?.[1] ?? "") || 0;

/** Number of .eml messages delivered to the outbox folder. */
export async function outboxCount(rt: TestRuntime): Promise<number> {
  return (await emlFiles(rt)).length;
}

/** The leader PIN an email carries, if any. */
export function pinInEmail(eml: string): string | undefined {
  return /^Leader PIN: ([0-9]+)\r?$/m.exec(eml)?.[1];
}

/** Fails when any value holds a PIN hash: they must never leave the service layer. */
export function expectNoPinHash(value: unknown): void {
  expect(JSON.stringify(value) ?? "").not.toContain("hmac-sha256$");
}
