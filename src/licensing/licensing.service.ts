import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { disableDialInInTx, enableDialInInTx } from "../conferencing/dial-in.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError, fieldError } from "../core/errors.ts";
import { AUDIO_CONFERENCING_PLANS, getUserById, resolveUserId, type UserView } from "../directory/users.service.ts";
import { deliverAfterCommit } from "../notify/deliver.ts";
import { rows } from "../store/db.ts";

export interface Sku {
  id: string;
  skuPartNumber: string;
  name: string;
  seats: number;
  consumed: number;
  available: number;
  servicePlans: string[];
}

/** Licences an administrator is likely to add, so `--sku` can be just the part number. */
export const knownSkus: Record<string, { name: string; servicePlans: string[] }> = {
  MCOMEETADV: { name: "Audio Conferencing", servicePlans: ["MCOMEETADV"] },
  MCOEV: { name: "Phone System", servicePlans: ["MCOEV"] },
  MCOSTANDARD: { name: "Skype for Business Online (Plan 2)", servicePlans: ["MCOSTANDARD"] },
  TEAMS1: { name: "Microsoft Teams", servicePlans: ["TEAMS1"] },
  ENTERPRISEPREMIUM: {
    name: "Office 365 E5",
    servicePlans: ["MCOSTANDARD", "TEAMS1", "MCOEV", "MCOMEETADV"],
  },
};

interface SkuRow {
  id: string;
  sku_part_number: string;
  name: string;
  seats: number;
  service_plans: string[];
  consumed: string | number;
}

const skuSelect = sql`
  select s.id, s.sku_part_number, s.name, s.seats, s.service_plans,
         (select count(*) from licence_assignments la where la.sku_id = s.id) as consumed
  from skus s`;

function toSku(r: SkuRow): Sku {
  const consumed = Number(r.consumed);
  return {
    id: r.id,
    skuPartNumber: r.sku_part_number,
    name: r.name,
    seats: r.seats,
    consumed,
    available: Math.max(r.seats - consumed, 0),
    servicePlans: [...r.service_plans].sort(),
  };
}

export async function listSkus(ctx: Ctx): Promise<Sku[]> {
  const result = await rows<SkuRow>(ctx.db, sql`${skuSelect} where s.tenant_id = ${ctx.tenantId} order by s.sku_part_number`);
  return result.map(toSku);
}

async function findSku(ctx: Ctx, ref: string): Promise<Sku> {
  const key = ref.trim().toLowerCase();
  const [r] = await rows<SkuRow>(
    ctx.db,
    sql`${skuSelect} where s.tenant_id = ${ctx.tenantId}
        and (lower(s.sku_part_number) = ${key} or lower(s.name) = ${key} or s.id::text = ${key})
        order by s.sku_part_number limit 1`,
  );
  if (!r) {
    const all = await listSkus(ctx);
    throw new AppError(
      "not_found",
      `The tenant has no licence "${ref}": ${all.length ? `it has ${all.map((s) => s.skuPartNumber).join(", ")}` : "add one with `callplane licences add --sku MCOMEETADV --seats 100`"}.`,
    );
  }
  return toSku(r);
}

export interface AddSkuInput {
  skuPartNumber: string;
  name?: string;
  seats: number;
  servicePlans?: string[];
}

/** Adds a licence the tenant has bought, or more seats of one it has. */
export async function addSku(ctx: Ctx, input: AddSkuInput): Promise<Sku> {
  const part = input.skuPartNumber.trim().toUpperCase();
  if (!/^[A-Z0-9_]+$/.test(part)) {
    throw fieldError(
      "body.skuPartNumber",
      `"${input.skuPartNumber}" is not a SKU part number: use letters, digits and _, e.g. MCOMEETADV.`,
    );
  }
  if (!Number.isInteger(input.seats) || input.seats < 0) {
    throw fieldError("body.seats", `Seats must be a whole number of 0 or more, not ${input.seats}.`);
  }
  const known = knownSkus[part];
  const plans = (input.servicePlans?.length ? input.servicePlans : (known?.servicePlans ?? [part])).map((p) => p.trim().toUpperCase());
  const name = input.name?.trim() || known?.name || part;
  return inTransaction(ctx, async (tx) => {
    const [r] = await rows<{ id: string }>(
      tx.db,
      sql`insert into skus (tenant_id, sku_part_number, name, seats, service_plans)
          values (${tx.tenantId}, ${part}, ${name}, ${input.seats}, ${`{${plans.join(",")}}`}::text[]) returning id`,
    );
    if (!r) throw new AppError("internal", "The licence was not added.");
    const sku = await findSku(tx, r.id);
    await recordAudit(tx, [{ operation: "licence.add", targetType: "sku", targetId: r.id, after: sku }]);
    return sku;
  });
}

/** Changes the number of seats of a licence; never below the seats in use. */
export async function setSkuSeats(ctx: Ctx, ref: string, seats: number): Promise<Sku> {
  return inTransaction(ctx, async (tx) => {
    const before = await findSku(tx, ref);
    if (!Number.isInteger(seats) || seats < before.consumed) {
      throw fieldError(
        "body.seats",
        `${before.skuPartNumber} has ${before.consumed} seats in use: the seat count must be a whole number of at least ${before.consumed}.`,
      );
    }
    await tx.db.execute(sql`update skus set seats = ${seats} where id = ${before.id}`);
    const after = await findSku(tx, before.id);
    await recordAudit(tx, [{ operation: "licence.seats", targetType: "sku", targetId: before.id, before, after }]);
    return after;
  });
}

/** Removes a licence the tenant no longer has; refused while any user holds one of its seats. */
export async function removeSku(ctx: Ctx, ref: string): Promise<Sku> {
  return inTransaction(ctx, async (tx) => {
    const before = await findSku(tx, ref);
    if (before.consumed > 0) {
      throw new AppError(
        "licence_in_use",
        `${before.skuPartNumber} is assigned to ${before.consumed} user${before.consumed === 1 ? "" : "s"}: remove it from them first (\`callplane licences unassign IDENTITY --sku ${before.skuPartNumber}\`; \`callplane users list\` shows who holds what).`,
      );
    }
    await tx.db.execute(sql`delete from skus where id = ${before.id}`);
    await recordAudit(tx, [{ operation: "licence.remove", targetType: "sku", targetId: before.id, before }]);
    return before;
  });
}

export interface LicenceChange {
  user: UserView;
  changed: boolean;
  /** What assigning or removing the licence did to dial-in conferencing, if anything. */
  conferencing: string | null;
  /** What the administrator must hear about the email the change sent (not delivered yet, refused), or null. */
  warning: string | null;
}

/**
 * Assigns a licence. Needs a usage location and a free seat. An Audio Conferencing licence
 * turns on Microsoft dial-in for a user with no provider, and replaces a third-party provider
 * when the tenant says so (AutomaticallyReplaceAcpProvider).
 */
export async function assignLicence(ctx: Ctx, identity: string, skuRef: string): Promise<LicenceChange> {
  // The email that turning dial-in on queues (with the new PIN): delivered once the change is committed.
  let mailId: string | null = null;
  const change = await inTransaction(ctx, async (tx) => {
    const userId = await resolveUserId(tx, identity);
    // Lock the SKU so two assignments cannot both take the last seat.
    const sku = await findSku(tx, skuRef);
    await tx.db.execute(sql`select id from skus where id = ${sku.id} for update`);
    const before = await getUserById(tx, userId);
    if (before.licences.includes(sku.skuPartNumber)) return { user: before, changed: false, conferencing: null };
    if (!before.usageLocation) {
      throw new AppError(
        "usage_location_required",
        `${before.userPrincipalName} has no usage location, which a licence needs: set one with \`callplane users set ${before.userPrincipalName} --usage-location US\`.`,
      );
    }
    const [fresh] = await rows<{ consumed: string | number }>(
      tx.db,
      sql`select count(*) as consumed from licence_assignments where sku_id = ${sku.id}`,
    );
    if (Number(fresh?.consumed ?? 0) >= sku.seats) {
      throw new AppError(
        "no_free_seat",
        `All ${sku.seats} seats of ${sku.skuPartNumber} are in use: add seats with \`callplane licences set-seats ${sku.skuPartNumber} --seats ${sku.seats + 10}\` or remove the licence from someone else.`,
      );
    }
    await tx.db.execute(sql`insert into licence_assignments (tenant_id, user_id, sku_id) values (${tx.tenantId}, ${userId}, ${sku.id})`);
    let conferencing: string | null = null;
    const givesAudioConferencing = sku.servicePlans.some((p) => (AUDIO_CONFERENCING_PLANS as readonly string[]).includes(p));
    if (givesAudioConferencing && before.provider.kind !== "microsoft" && !before.audioConferencingLicensed) {
      const settings = await rows<{ automatically_replace_acp_provider: boolean }>(
        tx.db,
        sql`select automatically_replace_acp_provider from conferencing_settings where tenant_id = ${tx.tenantId}`,
      );
      const replace = settings[0]?.automatically_replace_acp_provider === true;
      const hasBridge = await rows<{ id: string }>(tx.db, sql`select id from bridges where tenant_id = ${tx.tenantId} limit 1`);
      if (before.provider.kind === "third-party" && !replace) {
        conferencing = `${before.provider.name} stays the provider: move the user with \`callplane conferencing enable ${before.userPrincipalName} --replace-provider\`.`;
      } else if (hasBridge.length === 0) {
        conferencing =
          "No bridge exists yet, so dial-in conferencing was not turned on: create a bridge, then run `callplane conferencing enable`.";
      } else {
        mailId = (await enableDialInInTx(tx, userId, { replaceProvider: replace, operation: "licence.assign" })).mailId;
        conferencing = "Microsoft dial-in conferencing was turned on.";
      }
    }
    const after = await getUserById(tx, userId);
    await recordAudit(tx, [
      {
        operation: "licence.assign",
        targetType: "user",
        targetId: userId,
        before: { licences: before.licences },
        after: { licences: after.licences },
      },
    ]);
    return { user: after, changed: true, conferencing };
  });
  // Delivered once the change is committed; how that went is the change's warning, never an error hiding it.
  const { warning } = await deliverAfterCommit(ctx, mailId);
  return { ...change, warning };
}

/** Removes a licence. Without Audio Conferencing, Microsoft dial-in is turned off and the conference ID released. */
export async function removeLicence(ctx: Ctx, identity: string, skuRef: string): Promise<LicenceChange> {
  let mailId: string | null = null;
  const change = await inTransaction(ctx, async (tx) => {
    const userId = await resolveUserId(tx, identity);
    const sku = await findSku(tx, skuRef);
    const before = await getUserById(tx, userId);
    if (!before.licences.includes(sku.skuPartNumber)) return { user: before, changed: false, conferencing: null };
    await tx.db.execute(sql`delete from licence_assignments where user_id = ${userId} and sku_id = ${sku.id}`);
    let after = await getUserById(tx, userId);
    let conferencing: string | null = null;
    if (before.audioConferencingLicensed && !after.audioConferencingLicensed && after.provider.kind === "microsoft") {
      mailId = (await disableDialInInTx(tx, userId, { operation: "licence.remove" })).mailId;
      conferencing = "Microsoft dial-in conferencing was turned off and the conference ID released.";
      after = await getUserById(tx, userId);
    }
    await recordAudit(tx, [
      {
        operation: "licence.remove",
        targetType: "user",
        targetId: userId,
        before: { licences: before.licences },
        after: { licences: after.licences },
      },
    ]);
    return { user: after, changed: true, conferencing };
  });
  // Delivered once the change is committed; how that went is the change's warning, never an error hiding it.
  const { warning } = await deliverAfterCommit(ctx, mailId);
  return { ...change, warning };
}
