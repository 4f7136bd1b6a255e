import { sql } from "drizzle-orm";
import { AppError, fieldError } from "../core/errors.ts";
import { type Db, rows } from "../store/db.ts";

export interface Tenant {
  id: string;
  name: string;
  domain: string;
  createdAt: string;
}

/** The providers every tenant starts with: Microsoft and the third parties the reference system knew. */
export const defaultProviders = [
  { name: "Microsoft", domain: "resources.lync.com", url: "https://dialin.lync.com", isMicrosoft: true },
  { name: "InterCall", domain: "intercall.com", url: "https://www.intercall.com", isMicrosoft: false },
  { name: "PGi", domain: "pgi.com", url: "https://www.pgi.com", isMicrosoft: false },
  { name: "BT Conferencing", domain: "btconferencing.com", url: "https://www.btconferencing.com", isMicrosoft: false },
  { name: "Arkadin", domain: "arkadin.com", url: "https://www.arkadin.com", isMicrosoft: false },
] as const;

function toTenant(r: { id: string; name: string; domain: string; created_at: Date | string }): Tenant {
  return { id: r.id, name: r.name, domain: r.domain, createdAt: new Date(r.created_at).toISOString() };
}

/** Who creates a tenant and from where, for its audit event. */
export interface CreatedBy {
  actor: string;
  source: string;
}

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type TenantRow = { id: string; name: string; domain: string; created_at: Date | string };

/** Why a new tenant's name or domain would make a reference fit two tenants, or undefined. */
function clashOf(name: string, domain: string, other: TenantRow): AppError | undefined {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const why = "a tenant is found by its name or its domain (--tenant, X-Callplane-Tenant), so each must name one tenant";
  if (same(name, other.name))
    return fieldError(
      "body.name",
      `A tenant named ${other.name} already exists (domain ${other.domain}): choose another name.`,
      "duplicate",
    );
  if (same(name, other.domain))
    return fieldError(
      "body.name",
      `The name "${name}" is the domain of the tenant ${other.name} (${other.domain}): ${why}. Choose another name.`,
      "duplicate",
    );
  if (same(domain, other.domain))
    return fieldError("body.domain", `The domain ${domain} is the tenant ${other.name}'s already: ${why}.`, "duplicate");
  if (same(domain, other.name))
    return fieldError(
      "body.domain",
      `"${domain}" is the name of the tenant ${other.name} (domain ${other.domain}): ${why}. Choose another domain.`,
      "duplicate",
    );
  return undefined;
}

/**
 * Creates a tenant with its conferencing settings and default providers. Its name and domain must not
 * be any other tenant's name or domain (case-insensitive), so a reference always fits one tenant.
 */
export async function createTenant(
  db: Db,
  input: { name: string; domain: string },
  by: CreatedBy = { actor: "system", source: "internal" },
): Promise<Tenant> {
  const name = input.name.trim();
  const domain = input.domain.trim().toLowerCase();
  if (!name) throw fieldError("body.name", "The tenant name is empty: give a name such as Contoso.");
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) {
    throw fieldError("body.domain", `"${input.domain}" is not a domain name: give one such as contoso.com.`);
  }
  if (TENANT_ID.test(name)) throw fieldError("body.name", `"${name}" has the form of a tenant id: give a name such as Contoso.`);
  return db.transaction(async (tx) => {
    // One creator at a time, so two cannot both pass the check below; readers and other writes go on.
    await tx.execute(sql`lock table tenants in share row exclusive mode`);
    const others = await rows<TenantRow>(
      tx as unknown as Db,
      sql`select id, name, domain, created_at from tenants
          where lower(name) in (${name.toLowerCase()}, ${domain}) or lower(domain) in (${name.toLowerCase()}, ${domain})
          order by created_at limit 1`,
    );
    for (const other of others) {
      const clash = clashOf(name, domain, other);
      if (clash) throw clash;
    }
    const [row] = await rows<{ id: string; name: string; domain: string; created_at: Date }>(
      tx as unknown as Db,
      sql`insert into tenants (name, domain) values (${name}, ${domain}) returning id, name, domain, created_at`,
    );
    if (!row) throw new AppError("internal", "The tenant was not created.");
    await tx.execute(sql`insert into conferencing_settings (tenant_id) values (${row.id})`);
    await tx.execute(sql`
      insert into providers (tenant_id, name, domain, url, is_microsoft)
      select ${row.id}::uuid, p.name, p.domain, p.url, p.is_microsoft
      from jsonb_to_recordset(${JSON.stringify(defaultProviders.map((p) => ({ name: p.name, domain: p.domain, url: p.url, is_microsoft: p.isMicrosoft })))}::jsonb)
        as p(name text, domain text, url text, is_microsoft boolean)`);
    await tx.execute(sql`
      insert into audit_events (tenant_id, actor, source, operation, target_type, target_id, after)
      values (${row.id}, ${by.actor}, ${by.source}, 'tenant.create', 'tenant', ${row.id}, ${JSON.stringify({ name, domain })}::jsonb)`);
    return toTenant(row);
  });
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  const result = await rows<{ id: string; name: string; domain: string; created_at: Date }>(
    db,
    sql`select id, name, domain, created_at from tenants order by created_at, name`,
  );
  return result.map(toTenant);
}

/**
 * Finds the tenant a request is for: by name, domain or id; with none given, the only tenant there is.
 */
export async function resolveTenant(db: Db, ref: string | undefined): Promise<Tenant> {
  if (ref?.trim()) {
    const key = ref.trim().toLowerCase();
    const found = await rows<TenantRow>(
      db,
      sql`select id, name, domain, created_at from tenants
          where lower(name) = ${key} or lower(domain) = ${key} or id::text = ${key} order by created_at limit 10`,
    );
    // An id names one tenant, whatever other tenants are called.
    const byId = found.find((t) => t.id === key);
    if (byId) return toTenant(byId);
    const first = found[0];
    if (!first) throw new AppError("not_found", `No tenant is named "${ref}": list them with \`callplane tenants list\`.`);
    if (found.length > 1) {
      throw new AppError(
        "ambiguous_identity",
        `"${ref.trim()}" fits ${found.length} tenants: ${found.map((t) => `${t.name} (domain ${t.domain}, id ${t.id})`).join(" and ")}. Say which by its id: --tenant ID (or the X-Callplane-Tenant header). Renaming one of them ends the clash.`,
      );
    }
    return toTenant(first);
  }
  const all = await listTenants(db);
  const only = all[0];
  if (all.length === 1 && only) return only;
  if (all.length === 0) {
    throw new AppError(
      "tenant_required",
      "There is no tenant yet: create one with `callplane tenants create --name Contoso --domain contoso.com`, or build a demo with `callplane demo --users 1000`.",
    );
  }
  throw new AppError(
    "tenant_required",
    `There are ${all.length} tenants: say which with --tenant NAME (or the X-Callplane-Tenant header): ${all.map((t) => t.name).join(", ")}.`,
  );
}
