import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, atField, fieldError } from "../core/errors.ts";
import { matchesWildcard } from "../core/wildcard.ts";
import { lockUsers, resolveUserId } from "../directory/users.service.ts";
import { rows } from "../store/db.ts";
import { normalizeServiceNumber } from "./tel-uri.ts";

export interface Provider {
  /** The provider's name, which the reference system calls its Identity. */
  identity: string;
  domain: string;
  url: string | null;
  isMicrosoft: boolean;
}

/** Get-CsAudioConferencingProvider: all providers, or those matching a wildcard filter such as `*Call*`. */
export async function listProviders(ctx: Ctx, filter?: string): Promise<Provider[]> {
  const all = await rows<{ name: string; domain: string; url: string | null; is_microsoft: boolean }>(
    ctx.db,
    sql`select name, domain, url, is_microsoft from providers where tenant_id = ${ctx.tenantId}
        order by is_microsoft desc, lower(name)`,
  );
  return all
    .filter((p) => !filter || matchesWildcard(filter, p.name))
    .map((p) => ({ identity: p.name, domain: p.domain, url: p.url, isMicrosoft: p.is_microsoft }));
}

/** Finds a provider by name, case-insensitively; an unknown name lists the supported ones. */
export async function findProvider(ctx: Ctx, name: string): Promise<Provider> {
  const all = await listProviders(ctx);
  const key = name.trim().toLowerCase();
  const found = all.find((p) => p.identity.toLowerCase() === key);
  if (!found) {
    throw new AppError(
      "provider_unknown",
      `"${name}" is not a supported audio conferencing provider: use one of ${all.map((p) => p.identity).join(", ")}.`,
      all.map((p) => ({ path: "provider", message: p.identity })),
    );
  }
  return found;
}

/** Adds a third-party provider the tenant works with. */
export async function addProvider(ctx: Ctx, input: { name: string; domain: string; url?: string }): Promise<Provider> {
  const name = input.name.trim();
  const domain = input.domain.trim().toLowerCase();
  if (!name) throw fieldError("body.name", "The provider name is empty: give one such as InterCall.");
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) {
    throw fieldError("body.domain", `"${input.domain}" is not a domain name: give the provider's, such as intercall.com.`);
  }
  return inTransaction(ctx, async (tx) => {
    await tx.db.execute(
      sql`insert into providers (tenant_id, name, domain, url) values (${tx.tenantId}, ${name}, ${domain}, ${input.url ?? null})`,
    );
    const provider = await findProvider(tx, name);
    await recordAudit(tx, [{ operation: "provider.add", targetType: "provider", targetId: name, after: provider }]);
    return provider;
  });
}

/** A user's entry for a third-party provider (Set-CsUserAcp). */
export interface AcpEntry {
  name: string;
  domain: string;
  tollNumber: string | null;
  tollFreeNumbers: string[];
  participantPasscode: string | null;
  url: string | null;
  isDefault: boolean;
}

interface AcpRow {
  name: string;
  domain: string;
  toll_number: string | null;
  toll_free_numbers: string[];
  participant_passcode: string | null;
  url: string | null;
  is_default: boolean;
}

export function toAcpEntry(r: AcpRow): AcpEntry {
  return {
    name: r.name,
    domain: r.domain,
    tollNumber: r.toll_number,
    tollFreeNumbers: r.toll_free_numbers,
    participantPasscode: r.participant_passcode,
    url: r.url,
    isDefault: r.is_default,
  };
}

export async function listUserAcpEntries(ctx: Ctx, userId: string): Promise<AcpEntry[]> {
  const result = await rows<AcpRow>(
    ctx.db,
    sql`select name, domain, toll_number, toll_free_numbers, participant_passcode, url, is_default
        from user_acp_entries where user_id = ${userId} order by is_default desc, created_at, name`,
  );
  return result.map(toAcpEntry);
}

/** Get-CsUserAcp. */
export async function getUserAcp(ctx: Ctx, identity: string): Promise<AcpEntry[]> {
  return listUserAcpEntries(ctx, await resolveUserId(ctx, identity));
}

export interface SetUserAcpInput {
  name: string;
  domain?: string;
  tollNumber?: string | null;
  tollFreeNumbers?: string[];
  participantPasscode?: string | null;
  url?: string | null;
  isDefault?: boolean;
}

/**
 * Set-CsUserAcp: adds or updates (by provider name) a user's third-party entry.
 * One entry per user is the default; the first entry is the default unless told otherwise.
 */
export async function setUserAcp(ctx: Ctx, identity: string, input: SetUserAcpInput): Promise<AcpEntry[]> {
  return inTransaction(ctx, async (tx) => {
    const userId = await resolveUserId(tx, identity);
    await lockUsers(tx, [userId]);
    const provider = await findProvider(tx, input.name);
    if (provider.isMicrosoft) {
      throw new AppError(
        "invalid_input",
        "Microsoft is not set with a provider entry: turn on Microsoft dial-in with `callplane conferencing enable IDENTITY`.",
      );
    }
    const [onMicrosoft] = await rows<{ user_id: string }>(tx.db, sql`select user_id from dial_in_users where user_id = ${userId}`);
    if (onMicrosoft) {
      throw new AppError(
        "provider_conflict",
        `${identity} has Microsoft as provider: turn it off first with \`callplane conferencing disable ${identity}\`.`,
      );
    }
    const passcode = input.participantPasscode?.trim() || null;
    if (passcode !== null && !/^[0-9]{1,20}$/.test(passcode)) {
      throw fieldError("body.participantPasscode", `Participant passcode "${input.participantPasscode}" must be 1 to 20 digits.`);
    }
    const toll = input.tollNumber ? atField("body.tollNumber", () => normalizeServiceNumber(input.tollNumber ?? "")) : null;
    const tollFree = atField("body.tollFreeNumbers", () => (input.tollFreeNumbers ?? []).map((n) => normalizeServiceNumber(n)));
    const before = await listUserAcpEntries(tx, userId);
    const isDefault =
      input.isDefault ??
      (before.length === 0 || before.some((e) => e.isDefault && e.name.toLowerCase() === provider.identity.toLowerCase()));
    if (isDefault) await tx.db.execute(sql`update user_acp_entries set is_default = false where user_id = ${userId}`);
    await tx.db.execute(sql`
      insert into user_acp_entries (tenant_id, user_id, name, domain, toll_number, toll_free_numbers, participant_passcode, url, is_default)
      values (${tx.tenantId}, ${userId}, ${provider.identity}, ${input.domain?.trim() || provider.domain}, ${toll},
              ${`{${tollFree.join(",")}}`}::text[], ${passcode}, ${input.url ?? provider.url}, ${isDefault})
      on conflict (user_id, lower(name)) do update set
        domain = excluded.domain, toll_number = excluded.toll_number, toll_free_numbers = excluded.toll_free_numbers,
        participant_passcode = excluded.participant_passcode, url = excluded.url, is_default = excluded.is_default`);
    const after = await listUserAcpEntries(tx, userId);
    await recordAudit(tx, [{ operation: "acp.set", targetType: "user", targetId: userId, before, after }]);
    return after;
  });
}

/** Remove-CsUserAcp: removes one named entry, or all of them. */
export async function removeUserAcp(ctx: Ctx, identity: string, name?: string): Promise<AcpEntry[]> {
  return inTransaction(ctx, async (tx) => {
    const userId = await resolveUserId(tx, identity);
    await lockUsers(tx, [userId]);
    const before = await listUserAcpEntries(tx, userId);
    if (name && !before.some((e) => e.name.toLowerCase() === name.trim().toLowerCase())) {
      throw new AppError(
        "not_found",
        `${identity} has no ${name} entry: ${before.length ? `it has ${before.map((e) => e.name).join(", ")}` : "it has no third-party provider"}.`,
      );
    }
    await tx.db.execute(
      name
        ? sql`delete from user_acp_entries where user_id = ${userId} and lower(name) = ${name.trim().toLowerCase()}`
        : sql`delete from user_acp_entries where user_id = ${userId}`,
    );
    const after = await listUserAcpEntries(tx, userId);
    if (after.length > 0 && !after.some((e) => e.isDefault)) {
      await tx.db.execute(
        sql`update user_acp_entries set is_default = true where user_id = ${userId} and lower(name) = ${after[0]?.name.toLowerCase() ?? ""}`,
      );
    }
    const final = await listUserAcpEntries(tx, userId);
    await recordAudit(tx, [{ operation: "acp.remove", targetType: "user", targetId: userId, before, after: final }]);
    return final;
  });
}
