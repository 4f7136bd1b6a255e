import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, atField } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import { normalizeServiceNumber } from "./tel-uri.ts";

export type ServiceNumberType = "toll" | "toll-free";

export interface ServiceNumber {
  number: string;
  type: ServiceNumberType;
  city: string | null;
  country: string | null;
  primaryLanguage: string;
  secondaryLanguages: string[];
  bridge: string;
}

export interface Bridge {
  id: string;
  name: string;
  isDefault: boolean;
  conferenceIdLength: number;
  defaultServiceNumber: string | null;
  defaultTollFreeServiceNumber: string | null;
  serviceNumbers: ServiceNumber[];
}

interface BridgeRow {
  id: string;
  name: string;
  is_default: boolean;
  conference_id_length: number;
  default_service_number: string | null;
  default_toll_free_service_number: string | null;
}

interface NumberRow {
  number: string;
  type: string;
  city: string | null;
  country: string | null;
  primary_language: string;
  secondary_languages: string[];
  bridge_id: string;
  bridge_name: string;
}

function toNumber(r: NumberRow): ServiceNumber {
  return {
    number: r.number,
    type: r.type === "toll-free" ? "toll-free" : "toll",
    city: r.city,
    country: r.country,
    primaryLanguage: r.primary_language,
    secondaryLanguages: r.secondary_languages,
    bridge: r.bridge_name,
  };
}

/** Get-CsOnlineDialInConferencingBridge, with each bridge's service numbers. */
export async function listBridges(ctx: Ctx): Promise<Bridge[]> {
  const bridges = await rows<BridgeRow>(
    ctx.db,
    sql`select id, name, is_default, conference_id_length, default_service_number, default_toll_free_service_number
        from bridges where tenant_id = ${ctx.tenantId} order by is_default desc, lower(name)`,
  );
  const numbers = await listServiceNumbers(ctx, {});
  return bridges.map((b) => ({
    id: b.id,
    name: b.name,
    isDefault: b.is_default,
    conferenceIdLength: b.conference_id_length,
    defaultServiceNumber: b.default_service_number,
    defaultTollFreeServiceNumber: b.default_toll_free_service_number,
    serviceNumbers: numbers.filter((n) => n.bridge === b.name),
  }));
}

/** Finds a bridge by name or id; with none given, the tenant default (or the only one). */
export async function findBridge(ctx: Ctx, ref?: string): Promise<Bridge> {
  const all = await listBridges(ctx);
  if (all.length === 0) {
    throw new AppError(
      "bridge_required",
      'The tenant has no dial-in conferencing bridge: create one with `callplane conferencing bridges create --name "Contoso bridge"` and add service numbers.',
    );
  }
  if (ref?.trim()) {
    const key = ref.trim().toLowerCase();
    const found = all.find((b) => b.name.toLowerCase() === key || b.id === key);
    if (!found) throw new AppError("not_found", `No bridge is named "${ref}": the tenant has ${all.map((b) => b.name).join(", ")}.`);
    return found;
  }
  const chosen = all.length === 1 ? all[0] : all.find((b) => b.isDefault);
  if (!chosen) {
    throw new AppError(
      "bridge_required",
      `The tenant has ${all.length} bridges and none is the default: name one with --bridge, or set a default.`,
    );
  }
  return chosen;
}

/** Creates a bridge; the first one becomes the default. */
export async function createBridge(ctx: Ctx, input: { name: string; conferenceIdLength?: number }): Promise<Bridge> {
  const name = input.name.trim();
  if (!name) throw new AppError("invalid_input", 'The bridge name is empty: give one such as "Contoso bridge".');
  const length = input.conferenceIdLength ?? 7;
  if (!Number.isInteger(length) || length < 4 || length > 12) {
    throw new AppError("invalid_input", `Conference ID length ${length} is out of range: choose 4 to 12 digits (7 is usual).`);
  }
  return inTransaction(ctx, async (tx) => {
    const existing = await rows<{ id: string }>(tx.db, sql`select id from bridges where tenant_id = ${tx.tenantId} limit 1`);
    await tx.db.execute(sql`insert into bridges (tenant_id, name, is_default, conference_id_length)
      values (${tx.tenantId}, ${name}, ${existing.length === 0}, ${length})`);
    const bridge = await findBridge(tx, name);
    await recordAudit(tx, [{ operation: "bridge.create", targetType: "bridge", targetId: bridge.id, after: bridge }]);
    return bridge;
  });
}

export interface SetBridgeInput {
  name?: string;
  defaultServiceNumber?: string;
  defaultTollFreeServiceNumber?: string;
  setDefault?: boolean;
}

/** Set-CsOnlineDialInConferencingBridge: default numbers must be on the bridge; users keep the numbers they have. */
export async function setBridge(ctx: Ctx, ref: string | undefined, input: SetBridgeInput): Promise<Bridge> {
  return inTransaction(ctx, async (tx) => {
    const before = await findBridge(tx, ref);
    const toll = input.defaultServiceNumber
      ? atField("body.defaultServiceNumber", () => numberOnBridge(before, input.defaultServiceNumber ?? "", "toll"))
      : before.defaultServiceNumber;
    const tollFree = input.defaultTollFreeServiceNumber
      ? atField("body.defaultTollFreeServiceNumber", () => numberOnBridge(before, input.defaultTollFreeServiceNumber ?? "", "toll-free"))
      : before.defaultTollFreeServiceNumber;
    const name = input.name?.trim() || before.name;
    if (input.setDefault) await tx.db.execute(sql`update bridges set is_default = false where tenant_id = ${tx.tenantId}`);
    await tx.db.execute(sql`update bridges set name = ${name}, default_service_number = ${toll},
        default_toll_free_service_number = ${tollFree}, is_default = ${input.setDefault ? true : before.isDefault}
        where id = ${before.id}`);
    const after = await findBridge(tx, before.id);
    await recordAudit(tx, [{ operation: "bridge.set", targetType: "bridge", targetId: before.id, before, after }]);
    return after;
  });
}

/**
 * Checks that a number (in any accepted form) is a service number of this bridge, of the wanted type.
 * Returns it in E.164.
 */
export function numberOnBridge(bridge: Bridge, input: string, type: ServiceNumberType): string {
  const e164 = normalizeServiceNumber(input);
  const found = bridge.serviceNumbers.find((n) => n.number === e164);
  const ofType = bridge.serviceNumbers.filter((n) => n.type === type).map((n) => n.number);
  if (!found) {
    throw new AppError(
      "service_number_not_on_bridge",
      `${input} is not a service number of the bridge "${bridge.name}": ${ofType.length ? `use one of ${ofType.join(", ")}` : `add it first with \`callplane conferencing numbers add ${e164} --type ${type}\``}.`,
    );
  }
  if (found.type !== type) {
    throw new AppError(
      "service_number_invalid",
      `${e164} is a ${found.type} number, not a ${type} one: ${ofType.length ? `use one of ${ofType.join(", ")}` : `add a ${type} number to the bridge`}.`,
    );
  }
  return e164;
}

export interface AddServiceNumberInput {
  number: string;
  type: ServiceNumberType;
  bridge?: string;
  city?: string;
  country?: string;
  primaryLanguage?: string;
  secondaryLanguages?: string[];
}

/** Adds a toll or toll-free service number to a bridge; the first of each type becomes the bridge default. */
export async function addServiceNumber(ctx: Ctx, input: AddServiceNumberInput): Promise<ServiceNumber> {
  const number = normalizeServiceNumber(input.number);
  const secondary = input.secondaryLanguages ?? [];
  if (secondary.length > 4) {
    throw new AppError("invalid_input", `A service number takes at most 4 secondary languages, not ${secondary.length}.`);
  }
  return inTransaction(ctx, async (tx) => {
    const bridge = await findBridge(tx, input.bridge);
    await tx.db.execute(sql`insert into service_numbers (tenant_id, bridge_id, number, type, city, country, primary_language, secondary_languages)
      values (${tx.tenantId}, ${bridge.id}, ${number}, ${input.type}, ${input.city ?? null}, ${input.country?.toUpperCase() ?? null},
              ${input.primaryLanguage ?? "en-US"}, ${`{${secondary.join(",")}}`}::text[])`);
    if (input.type === "toll" && !bridge.defaultServiceNumber) {
      await tx.db.execute(sql`update bridges set default_service_number = ${number} where id = ${bridge.id}`);
    }
    if (input.type === "toll-free" && !bridge.defaultTollFreeServiceNumber) {
      await tx.db.execute(sql`update bridges set default_toll_free_service_number = ${number} where id = ${bridge.id}`);
    }
    const [added] = await listServiceNumbers(tx, { number });
    if (!added) throw new AppError("internal", "The service number was not added.");
    await recordAudit(tx, [{ operation: "service-number.add", targetType: "service-number", targetId: number, after: added }]);
    return added;
  });
}

/** Removes a service number that no user and no bridge default uses. */
export async function removeServiceNumber(ctx: Ctx, input: string): Promise<ServiceNumber> {
  const number = normalizeServiceNumber(input);
  return inTransaction(ctx, async (tx) => {
    const [existing] = await listServiceNumbers(tx, { number });
    if (!existing) throw new AppError("not_found", `${number} is not a service number of this tenant.`);
    const [use] = await rows<{ users: string | number; defaults: string | number }>(
      tx.db,
      sql`select (select count(*) from dial_in_users where tenant_id = ${tx.tenantId}
                    and (service_number = ${number} or toll_free_service_number = ${number})) as users,
                 (select count(*) from bridges where tenant_id = ${tx.tenantId}
                    and (default_service_number = ${number} or default_toll_free_service_number = ${number})) as defaults`,
    );
    if (Number(use?.users ?? 0) > 0 || Number(use?.defaults ?? 0) > 0) {
      throw new AppError(
        "invalid_input",
        `${number} is in use (${Number(use?.users ?? 0)} users, ${Number(use?.defaults ?? 0)} bridge defaults): give them another number first with \`callplane conferencing set\` and \`callplane conferencing bridges set\`.`,
      );
    }
    await tx.db.execute(sql`delete from service_numbers where tenant_id = ${tx.tenantId} and number = ${number}`);
    await recordAudit(tx, [{ operation: "service-number.remove", targetType: "service-number", targetId: number, before: existing }]);
    return existing;
  });
}

/** Set-CsOnlineDialInConferencingServiceNumber: the languages callers hear. */
export async function setServiceNumber(
  ctx: Ctx,
  input: string,
  patch: { primaryLanguage?: string; secondaryLanguages?: string[]; restoreDefaultLanguages?: boolean },
): Promise<ServiceNumber> {
  const number = normalizeServiceNumber(input);
  return inTransaction(ctx, async (tx) => {
    const [before] = await listServiceNumbers(tx, { number });
    if (!before) throw new AppError("not_found", `${number} is not a service number of this tenant.`);
    const primary = patch.restoreDefaultLanguages ? "en-US" : (patch.primaryLanguage ?? before.primaryLanguage);
    const secondary = patch.restoreDefaultLanguages ? [] : (patch.secondaryLanguages ?? before.secondaryLanguages);
    if (secondary.length > 4) throw new AppError("invalid_input", "A service number takes at most 4 secondary languages.");
    await tx.db.execute(sql`update service_numbers set primary_language = ${primary},
        secondary_languages = ${`{${secondary.join(",")}}`}::text[] where tenant_id = ${tx.tenantId} and number = ${number}`);
    const [after] = await listServiceNumbers(tx, { number });
    await recordAudit(tx, [{ operation: "service-number.set", targetType: "service-number", targetId: number, before, after }]);
    if (!after) throw new AppError("internal", "The service number disappeared.");
    return after;
  });
}

/** Get-CsOnlineDialInConferencingServiceNumber. */
export async function listServiceNumbers(ctx: Ctx, q: { number?: string; bridge?: string; city?: string }): Promise<ServiceNumber[]> {
  const number = q.number ? normalizeServiceNumber(q.number) : undefined;
  const result = await rows<NumberRow>(
    ctx.db,
    sql`select n.number, n.type, n.city, n.country, n.primary_language, n.secondary_languages, n.bridge_id, b.name as bridge_name
        from service_numbers n join bridges b on b.id = n.bridge_id
        where n.tenant_id = ${ctx.tenantId}
          ${number ? sql`and n.number = ${number}` : sql``}
          ${q.bridge ? sql`and (lower(b.name) = ${q.bridge.toLowerCase()} or b.id::text = ${q.bridge})` : sql``}
          ${q.city ? sql`and lower(n.city) = ${q.city.toLowerCase()}` : sql``}
        order by n.country nulls last, n.city nulls last, n.number`,
  );
  return result.map(toNumber);
}
