/**
 * Publishing a tenant's voice routing to its SIP proxies (Kamailio): `voice publish`, `--status`,
 * `--rollback N`, and the proxies it goes to.
 *
 * A publish compiles the configuration (compile.ts) into a numbered generation, writes it into the
 * slot each proxy does not run (dbtext.ts), has the proxy reload those tables (rpc.ts), then flips
 * the proxy's one-key pointer: a call reads the pointer once, so it sees the old generation or the
 * new one, never a mix. The generation is recorded (with what it holds, so a rollback can publish it
 * again) once a proxy has taken it; a proxy that could not be reached keeps its previous generation
 * and is brought up to date by the next publish or when it answers again (`catchUpProxies`).
 */
import { createHash } from "node:crypto";
import { isAbsolute } from "node:path";
import { sql } from "drizzle-orm";
import { recordAudit } from "../../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { rows } from "../../store/db.ts";
import { listDialPlans } from "../dial-plans.service.ts";
import { listGateways, listPolicies, listPstnUsages, listRoutes } from "../voice.service.ts";
import { compileGeneration, type Generation, type GenerationInput } from "./compile.ts";
import {
  initDataDir,
  readPointer,
  SLOT_DPID_BASE,
  type Slot,
  usersHtable,
  writeDialplanSlot,
  writePointer,
  writeRoutingSlot,
  writeUsers,
} from "./dbtext.ts";
import { compareConfigurations, type Impact } from "./impact.ts";
import { exclusive, KamailioRpc } from "./rpc.ts";

// ---------------------------------------------------------------------------------------------
// The proxies.

export interface SipProxy {
  name: string;
  rpcAddress: string;
  dataDir: string;
  /** The generation it was last brought to by a publish; null before its first. */
  generation: number | null;
  slot: number | null;
  publishedAt: string | null;
  /** Why its last publish failed (it kept its previous generation), or null. */
  lastError: string | null;
}

interface ProxyRow {
  id: string;
  name: string;
  rpc_address: string;
  data_dir: string;
  generation: number | null;
  slot: number | null;
  published_at: Date | string | null;
  last_error: string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toProxy(r: ProxyRow): SipProxy {
  return {
    name: r.name,
    rpcAddress: r.rpc_address,
    dataDir: r.data_dir,
    generation: r.generation,
    slot: r.slot,
    publishedAt: iso(r.published_at),
    lastError: r.last_error,
  };
}

async function proxyRows(ctx: Ctx): Promise<ProxyRow[]> {
  return rows<ProxyRow>(ctx.db, sql`select * from sip_proxies where tenant_id = ${ctx.tenantId} order by lower(name)`);
}

/** The SIP proxies the tenant's voice routing is published to. */
export async function listProxies(ctx: Ctx): Promise<SipProxy[]> {
  return (await proxyRows(ctx)).map(toProxy);
}

function cleanRpcAddress(value: string): string {
  const fix =
    "give Kamailio's JSON-RPC address as HOST:PORT, e.g. 127.0.0.1:5080 (xhttp + jsonrpcs, as `callplane kamailio config` sets up)";
  const v = value
    .trim()
    .replace(/^https?:\/\//i, "")
    .replace(/\/RPC\/?$/i, "");
  const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new AppError("invalid_input", `"${value.trim().slice(0, 200)}" is not an RPC address: ${fix}.`, [
      { path: "rpcAddress", message: fix },
    ]);
  return v.toLowerCase();
}

/** Adds a proxy: its JSON-RPC address and the folder of tables it reads (as its kamailio.cfg names it). */
export async function addProxy(ctx: Ctx, input: { name: string; rpcAddress: string; dataDir: string }): Promise<SipProxy> {
  const name = input.name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name))
    throw new AppError("invalid_input", `"${name.slice(0, 80)}" is not a proxy name: use letters, digits, '.', '_' or '-', at most 63.`, [
      { path: "name", message: "letters, digits, '.', '_' or '-'" },
    ]);
  const rpcAddress = cleanRpcAddress(input.rpcAddress);
  const dataDir = input.dataDir.trim();
  if (!isAbsolute(dataDir) || dataDir.length > 1000 || /[\0\n\r]/.test(dataDir))
    throw new AppError(
      "invalid_input",
      `The data folder must be an absolute path (the folder the proxy's db_url names), not "${dataDir.slice(0, 200)}".`,
      [{ path: "dataDir", message: "an absolute path" }],
    );
  return inTransaction(ctx, async (tx) => {
    const [taken] = await rows<{ name: string }>(
      tx.db,
      sql`select name from sip_proxies where tenant_id = ${tx.tenantId} and (lower(name) = lower(${name}) or rpc_address = ${rpcAddress})`,
    );
    if (taken)
      throw new AppError("duplicate", `A SIP proxy "${taken.name}" already has that name or RPC address: remove it first, or use another.`);
    await tx.db.execute(
      sql`insert into sip_proxies (tenant_id, name, rpc_address, data_dir) values (${tx.tenantId}, ${name}, ${rpcAddress}, ${dataDir})`,
    );
    const [row] = (await proxyRows(tx)).filter((r) => r.name === name);
    if (!row) throw new AppError("internal", "The proxy was not stored.");
    const proxy = toProxy(row);
    await recordAudit(tx, [{ operation: "sip-proxy.add", targetType: "sip-proxy", targetId: name, after: proxy }]);
    return proxy;
  });
}

/** Removes a proxy from the list publishes go to (the proxy itself keeps routing on what it has). */
export async function removeProxy(ctx: Ctx, name: string): Promise<SipProxy> {
  return inTransaction(ctx, async (tx) => {
    const [row] = await rows<ProxyRow>(
      tx.db,
      sql`select * from sip_proxies where tenant_id = ${tx.tenantId} and lower(name) = lower(${name.trim()})`,
    );
    if (!row) throw new AppError("not_found", `No SIP proxy is named "${name.trim()}": list them with \`callplane voice proxies list\`.`);
    await tx.db.execute(sql`delete from sip_proxies where id = ${row.id}`);
    const before = toProxy(row);
    await recordAudit(tx, [{ operation: "sip-proxy.remove", targetType: "sip-proxy", targetId: row.name, before }]);
    return before;
  });
}

// ---------------------------------------------------------------------------------------------
// Compiling what Callplane holds.

interface UserVoiceRow {
  user_principal_name: string;
  sip_address: string | null;
  on_prem_line_uri: string | null;
  homing: string;
  on_prem_voice_routing_policy: string | null;
  online_voice_routing_policy: string | null;
  tenant_dial_plan: string | null;
}

/** The tenant's voice configuration as the compiler reads it: a fixed number of queries, whatever the size. */
export async function loadGenerationInput(ctx: Ctx): Promise<GenerationInput> {
  const [dialPlans, pstnUsages, routes, gateways, policies, users] = [
    await listDialPlans(ctx),
    await listPstnUsages(ctx),
    await listRoutes(ctx),
    await listGateways(ctx),
    await listPolicies(ctx),
    await rows<UserVoiceRow>(
      ctx.db,
      sql`select user_principal_name, sip_address, on_prem_line_uri, homing, on_prem_voice_routing_policy,
                 online_voice_routing_policy, tenant_dial_plan
          from users where tenant_id = ${ctx.tenantId} and deleted_at is null order by id`,
    ),
  ];
  return {
    dialPlans: dialPlans.map((p) => ({ identity: p.identity, rules: p.normalizationRules })),
    pstnUsages,
    routes,
    gateways: gateways.map((g) => ({
      fqdn: g.fqdn,
      signalingHost: g.signalingAddress ?? g.fqdn,
      sipSignalingPort: g.sipSignalingPort,
      enabled: g.enabled,
      failoverTimeSeconds: g.failoverTimeSeconds,
      failoverResponseCodes: g.failoverResponseCodes,
    })),
    policies: policies.map((p) => ({ identity: p.identity, pstnUsages: p.pstnUsages })),
    users: users.map((u) => ({
      userPrincipalName: u.user_principal_name,
      sipAddress: u.sip_address,
      lineUri: u.on_prem_line_uri,
      homing: u.homing,
      onPremVoiceRoutingPolicy: u.on_prem_voice_routing_policy,
      onlineVoiceRoutingPolicy: u.online_voice_routing_policy,
      tenantDialPlan: u.tenant_dial_plan,
    })),
  };
}

/** What a generation holds, without its slot (slot 0's numbering). */
export type Artifacts = Omit<Generation, "slot" | "refusals">;

/** The same generation numbered for `slot`: dpids and routing keys move; users live in the slot's own table. */
export function inSlot(a: Artifacts, slot: Slot): Omit<Generation, "refusals"> {
  const shift = slot * SLOT_DPID_BASE;
  return {
    slot,
    dialplan: a.dialplan.map((r) => ({ ...r, dpid: r.dpid + shift })),
    routing: a.routing.map((r) => ({ key: `${slot}:${r.key.slice(r.key.indexOf(":") + 1)}`, value: r.value })),
    users: a.users,
    names: a.names,
  };
}

function hashOf(a: Artifacts): string {
  const h = createHash("sha256");
  for (const r of a.dialplan) h.update(`d\0${r.dpid}\0${r.pr}\0${r.matchExp}\0${r.substExp}\0${r.replExp}\0${r.attrs}\n`);
  for (const r of a.routing) h.update(`r\0${r.key}\0${r.value}\n`);
  for (const r of a.users) h.update(`u\0${r.key}\0${r.value}\n`);
  return h.digest("hex");
}

/**
 * Compiles the tenant's configuration, refusing (nothing published) what Kamailio would route
 * differently from `voice test-route`: each refusal names the rule, route, gateway or user and the fix.
 */
export async function compileTenant(ctx: Ctx): Promise<{ artifacts: Artifacts; hash: string; counts: Counts; input: GenerationInput }> {
  const input = await loadGenerationInput(ctx);
  const g = compileGeneration(input, 0);
  if (g.refusals.length > 0) {
    const shown = g.refusals.slice(0, 20).map((r) => `${r.kind} "${r.name}": ${r.reason}`);
    throw new AppError(
      "invalid_input",
      `Nothing was published: ${g.refusals.length} item${g.refusals.length > 1 ? "s" : ""} would route differently on the SIP proxy than \`voice test-route\` says. ${shown.join(" ")}${g.refusals.length > 20 ? ` (and ${g.refusals.length - 20} more)` : ""}`,
      g.refusals.slice(0, 200).map((r) => ({ path: `${r.kind}:${r.name}`, message: r.reason })),
    );
  }
  const artifacts: Artifacts = { dialplan: g.dialplan, routing: g.routing, users: g.users, names: g.names };
  return { artifacts, hash: hashOf(artifacts), counts: countsOf(input, artifacts), input };
}

export interface Counts {
  users: number;
  callers: number;
  dialPlans: number;
  rules: number;
  pstnUsages: number;
  routes: number;
  gateways: number;
  policies: number;
}

function countsOf(input: GenerationInput, a: Artifacts): Counts {
  return {
    users: input.users.length,
    callers: a.users.length,
    dialPlans: input.dialPlans.length,
    rules: input.dialPlans.reduce((n, p) => n + p.rules.length, 0),
    pstnUsages: input.pstnUsages.length,
    routes: input.routes.length,
    gateways: input.gateways.length,
    policies: input.policies.length,
  };
}

/** What changed between two generations, by table: rows added, removed or changed. */
export interface Changes {
  dialplanRows: { added: number; removed: number };
  routingKeys: { added: number; removed: number; changed: number };
  callers: { added: number; removed: number; changed: number };
}

function keyDiff(before: readonly { key: string; value: string }[], after: readonly { key: string; value: string }[]) {
  const b = new Map(before.map((r) => [r.key, r.value]));
  let added = 0;
  let changed = 0;
  for (const r of after) {
    const v = b.get(r.key);
    if (v === undefined) added++;
    else if (v !== r.value) changed++;
    b.delete(r.key);
  }
  return { added, removed: b.size, changed };
}

export function changesBetween(before: Artifacts | null, after: Artifacts): Changes {
  const line = (r: Artifacts["dialplan"][number]) => `${r.dpid}\0${r.pr}\0${r.matchExp}\0${r.replExp}\0${r.attrs}`;
  const b = new Set((before?.dialplan ?? []).map(line));
  const a = new Set(after.dialplan.map(line));
  return {
    dialplanRows: { added: [...a].filter((x) => !b.has(x)).length, removed: [...b].filter((x) => !a.has(x)).length },
    routingKeys: keyDiff(before?.routing ?? [], after.routing),
    callers: keyDiff(before?.users ?? [], after.users),
  };
}

// ---------------------------------------------------------------------------------------------
// Publishing.

export interface ProxyOutcome {
  name: string;
  rpcAddress: string;
  /** The generation it runs now (the new one when `ok`, its previous one otherwise). */
  generation: number | null;
  ok: boolean;
  error: string | null;
}

export interface PublishResult {
  generation: number;
  rollbackOf: number | null;
  contentHash: string;
  counts: Counts;
  changes: Changes;
  proxies: ProxyOutcome[];
  /** Set when some proxy did not take the generation (it keeps its previous one and catches up later). */
  warning: string | null;
}

interface PublicationRow {
  generation: number;
  input: GenerationInput | null;
  actor: string;
  rollback_of: number | null;
  content_hash: string;
  summary: { counts: Counts; changes: Changes };
  artifacts: Artifacts;
  created_at: Date | string;
}

async function latestPublication(ctx: Ctx, withArtifacts: boolean): Promise<PublicationRow | null> {
  const [r] = await rows<PublicationRow>(
    ctx.db,
    sql`select generation, actor, rollback_of, content_hash, summary, created_at,
               ${withArtifacts ? sql`artifacts, input` : sql`null::jsonb as artifacts, null::jsonb as input`}
        from voice_publications where tenant_id = ${ctx.tenantId} order by generation desc limit 1`,
  );
  return r ?? null;
}

/** Publishes running in this process, by tenant: a second one is refused at once rather than queued. */
const publishing = new Set<string>();

/**
 * Writes generation `gen` into the slot the proxy does not run, has it reload those tables, then flips
 * its pointer (the last write and the last reload). The proxy's own pointer, read first, says which
 * slot is live. Until the flip nothing it routes changes; a failure before it leaves the proxy on its
 * previous generation. Reloads to one proxy run one at a time.
 */
async function pushToProxy(proxy: ProxyRow, gen: number, a: Artifacts): Promise<{ slot: Slot }> {
  const rpc = new KamailioRpc(proxy.rpc_address);
  return exclusive(proxy.rpc_address, async () => {
    const live = await rpc.htableGet("cpgen", "slot");
    initDataDir(proxy.data_dir);
    const filed = readPointer(proxy.data_dir);
    const liveSlot: Slot | null = live === 0 || live === "0" ? 0 : live === 1 || live === "1" ? 1 : (filed?.slot ?? null);
    const slot: Slot = liveSlot === 0 ? 1 : 0;
    const placed = inSlot(a, slot);
    writeDialplanSlot(proxy.data_dir, slot, placed.dialplan);
    writeRoutingSlot(proxy.data_dir, slot, placed.routing);
    writeUsers(proxy.data_dir, slot, placed.users);
    await rpc.reloadDialplan();
    await rpc.reloadHtable("cp");
    await rpc.reloadHtable(usersHtable(slot));
    writePointer(proxy.data_dir, { slot, gen });
    await rpc.reloadHtable("cpgen");
    const running = await rpc.htableGet("cpgen", "gen");
    if (Number(running) !== gen)
      throw new AppError("unavailable", `${proxy.rpc_address} answers generation ${String(running)} after the switch to ${gen}.`);
    return { slot };
  });
}

/**
 * `voice publish`: compiles the tenant's voice routing into a new generation and switches every SIP
 * proxy to it; with `rollback`, publishes generation N's tables again as a new generation. Refused,
 * with nothing published, when the configuration cannot be routed exactly as `voice test-route`
 * says, when no proxy is configured, or when every proxy is unreachable (naming each address).
 */
export async function publishVoice(ctx: Ctx, opts: { rollback?: number } = {}): Promise<PublishResult> {
  return asOnlyPublish(ctx, () => publishLocked(ctx, opts));
}

async function publishLocked(ctx: Ctx, opts: { rollback?: number }): Promise<PublishResult> {
  const proxies = await proxyRows(ctx);
  if (proxies.length === 0)
    throw new AppError(
      "invalid_input",
      "No SIP proxy to publish to: add one with `callplane voice proxies add NAME --rpc HOST:PORT --data-dir DIR` (see `callplane kamailio config`).",
    );
  const previous = await latestPublication(ctx, true);
  let artifacts: Artifacts;
  let hash: string;
  let counts: Counts;
  let input: GenerationInput;
  if (opts.rollback !== undefined) {
    const [old] = await rows<PublicationRow>(
      ctx.db,
      sql`select generation, actor, rollback_of, content_hash, summary, artifacts, input, created_at
          from voice_publications where tenant_id = ${ctx.tenantId} and generation = ${opts.rollback}`,
    );
    if (!old)
      throw new AppError(
        "not_found",
        `No generation ${opts.rollback} was published: \`callplane voice publish --status\` lists the generations.`,
      );
    artifacts = old.artifacts;
    hash = old.content_hash;
    counts = old.summary.counts;
    input = old.input ?? (await loadGenerationInput(ctx));
  } else {
    ({ artifacts, hash, counts, input } = await compileTenant(ctx));
  }
  const generation = (previous?.generation ?? 0) + 1;
  const changes = changesBetween(previous?.artifacts ?? null, artifacts);
  const outcomes: (ProxyOutcome & { slot: Slot | null })[] = [];
  for (const p of proxies) {
    try {
      const { slot } = await pushToProxy(p, generation, artifacts);
      outcomes.push({ name: p.name, rpcAddress: p.rpc_address, generation, ok: true, error: null, slot });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      outcomes.push({ name: p.name, rpcAddress: p.rpc_address, generation: p.generation, ok: false, error: message, slot: null });
    }
  }
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === outcomes.length) {
    // Nothing took it: nothing is recorded, every proxy keeps what it runs, and the next publish succeeds.
    await inTransaction(ctx, async (tx) => {
      for (const o of outcomes)
        await tx.db.execute(sql`update sip_proxies set last_error = ${o.error} where tenant_id = ${tx.tenantId} and name = ${o.name}`);
    });
    throw new AppError(
      "unavailable",
      `Nothing was published: no SIP proxy took generation ${generation}. ${failed.map((f) => `${f.name} (${f.rpcAddress}): ${f.error}`).join(" ")} Each keeps the generation it runs; publish again once it answers.`,
      failed.map((f) => ({ path: `proxy:${f.name}`, message: f.error ?? "failed" })),
    );
  }
  await inTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`insert into voice_publications (tenant_id, generation, actor, rollback_of, content_hash, summary, artifacts, input)
      values (${tx.tenantId}, ${generation}, ${tx.actor}, ${opts.rollback ?? null}, ${hash},
              ${JSON.stringify({ counts, changes })}::jsonb, ${JSON.stringify(artifacts)}::jsonb, ${JSON.stringify(input)}::jsonb)`);
    for (const o of outcomes) {
      if (o.ok)
        await tx.db.execute(sql`update sip_proxies set generation = ${generation}, slot = ${o.slot}, published_at = now(), last_error = null
          where tenant_id = ${tx.tenantId} and name = ${o.name}`);
      else await tx.db.execute(sql`update sip_proxies set last_error = ${o.error} where tenant_id = ${tx.tenantId} and name = ${o.name}`);
    }
    await recordAudit(tx, [
      {
        operation: opts.rollback !== undefined ? "voice.publish.rollback" : "voice.publish",
        targetType: "voice-generation",
        targetId: String(generation),
        before: previous ? { generation: previous.generation, contentHash: previous.content_hash } : null,
        after: {
          generation,
          contentHash: hash,
          rollbackOf: opts.rollback ?? null,
          counts,
          changes,
          proxies: outcomes.map((o) => ({ name: o.name, ok: o.ok, error: o.error })),
        },
      },
    ]);
  });
  return {
    generation,
    rollbackOf: opts.rollback ?? null,
    contentHash: hash,
    counts,
    changes,
    proxies: outcomes.map(({ slot: _slot, ...o }) => o),
    warning: failed.length
      ? `${failed.map((f) => `${f.name} (${f.rpcAddress})`).join(", ")} did not take generation ${generation} and keep${failed.length > 1 ? "" : "s"} the previous one: it is brought up to date when it answers again, or by the next publish.`
      : null,
  };
}

/**
 * Runs `fn` as the tenant's one publish at a time: refused at once (`publish_in_progress`) when another
 * runs in this process or, on PostgreSQL, on another server sharing it.
 */
async function asOnlyPublish<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  if (publishing.has(ctx.tenantId))
    throw new AppError(
      "publish_in_progress",
      "A publish of this tenant's voice routing is running: wait for it to end, then publish again.",
    );
  publishing.add(ctx.tenantId);
  try {
    if (ctx.env.exclusiveStore) return await fn();
    // The lock lives as long as this transaction; the work itself uses other connections.
    return await inTransaction(ctx, async (tx) => {
      const [got] = await rows<{ ok: boolean }>(
        tx.db,
        sql`select pg_try_advisory_xact_lock(hashtext('callplane.voice-publish'), hashtext(${tx.tenantId})) as ok`,
      );
      if (!got?.ok)
        throw new AppError(
          "publish_in_progress",
          "Another server is publishing this tenant's voice routing: wait for it to end, then publish again.",
        );
      return fn();
    });
  } finally {
    publishing.delete(ctx.tenantId);
  }
}

/**
 * Brings every proxy that does not run the latest generation (down during a publish, or restarted
 * with other tables) up to it, reading each one's generation back from Kamailio; a proxy that does not
 * answer stays as it is. The server runs it on a timer for every tenant that has published.
 */
export async function catchUpProxies(ctx: Ctx): Promise<ProxyOutcome[]> {
  const latest = await latestPublication(ctx, false);
  if (!latest) return [];
  const out: ProxyOutcome[] = [];
  const proxies = await proxyRows(ctx);
  const behind: ProxyRow[] = [];
  for (const p of proxies) {
    try {
      const running = await new KamailioRpc(p.rpc_address, { timeoutMs: 5000 }).htableGet("cpgen", "gen");
      if (Number(running) !== latest.generation) behind.push(p);
    } catch {
      // Not answering: nothing to do until it does.
    }
  }
  if (behind.length === 0) return out;
  return asOnlyPublish(ctx, async () => {
    const full = await latestPublication(ctx, true);
    if (!full) return out;
    for (const p of behind) {
      try {
        const { slot } = await pushToProxy(p, full.generation, full.artifacts);
        await ctx.db.execute(sql`update sip_proxies set generation = ${full.generation}, slot = ${slot}, published_at = now(), last_error = null
          where id = ${p.id}`);
        await recordAudit(ctx, [
          {
            operation: "voice.publish.catch-up",
            targetType: "sip-proxy",
            targetId: p.name,
            before: { generation: p.generation },
            after: { generation: full.generation },
          },
        ]);
        out.push({ name: p.name, rpcAddress: p.rpc_address, generation: full.generation, ok: true, error: null });
      } catch (err) {
        out.push({
          name: p.name,
          rpcAddress: p.rpc_address,
          generation: p.generation,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return out;
  });
}

/** How often a server checks its SIP proxies (CALLPLANE_SIP_CATCH_UP_SECONDS, default 15 s). */
export function catchUpSeconds(): number {
  const n = Number(process.env.CALLPLANE_SIP_CATCH_UP_SECONDS);
  return Number.isFinite(n) && n >= 1 ? n : 15;
}

/** The tenants that have published and have proxies: the ones `catchUpProxies` looks at. */
export async function tenantsWithProxies(db: Ctx["db"]): Promise<string[]> {
  const found = await rows<{ tenant_id: string }>(
    db,
    sql`select distinct p.tenant_id from sip_proxies p where exists (select 1 from voice_publications v where v.tenant_id = p.tenant_id)`,
  );
  return found.map((f) => f.tenant_id);
}

// ---------------------------------------------------------------------------------------------
// Status and drift.

export interface ProxyStatus {
  name: string;
  rpcAddress: string;
  reachable: boolean;
  /** Read back from Kamailio itself: the generation and slot its pointer names. */
  generation: number | null;
  slot: number | null;
  /** True when what the proxy holds in that slot is what Callplane published as that generation. */
  matches: boolean;
  /** What differs, when it does not match (or why it could not be read). */
  drift: string[];
  publishedAt: string | null;
  lastError: string | null;
}

export interface PublishStatus {
  /** The latest generation Callplane published, or null before the first publish. */
  generation: number | null;
  publishedAt: string | null;
  publishedBy: string | null;
  rollbackOf: number | null;
  /** True when the configuration has changed since that generation: `voice publish` would publish something new. */
  unpublishedChanges: boolean;
  /** Why the current configuration could not be compiled, when it cannot. */
  compileError: string | null;
  proxies: ProxyStatus[];
  /** Earlier generations, newest first (at most 20). */
  history: { generation: number; publishedAt: string; publishedBy: string; rollbackOf: number | null }[];
}

/** How many user keys are read back per proxy to check its users table (besides its size). */
const USER_SAMPLE = 25;

async function readBack(proxy: ProxyRow, held: PublicationRow | null): Promise<ProxyStatus> {
  const base = {
    name: proxy.name,
    rpcAddress: proxy.rpc_address,
    publishedAt: iso(proxy.published_at),
    lastError: proxy.last_error,
  };
  const rpc = new KamailioRpc(proxy.rpc_address, { timeoutMs: 10_000 });
  try {
    const [gen, slotValue] = [await rpc.htableGet("cpgen", "gen"), await rpc.htableGet("cpgen", "slot")];
    const generation = gen === null ? null : Number(gen);
    const slot = slotValue === null ? null : Number(slotValue);
    const drift: string[] = [];
    if (!held) return { ...base, reachable: true, generation, slot, matches: generation === null, drift };
    if (generation !== held.generation) drift.push(`runs generation ${generation ?? "none"}, Callplane's latest is ${held.generation}`);
    if (generation !== null && (slot === 0 || slot === 1) && generation === held.generation) {
      const expect = inSlot(held.artifacts, slot);
      // The routing keys of the live slot, read back whole (a few thousand at most).
      const routing = await rpc.htableDump("cp");
      const prefix = `${slot}:`;
      const live = new Map([...routing].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, String(v)]));
      const d = keyDiff(
        [...live].map(([key, value]) => ({ key, value })),
        expect.routing,
      );
      if (d.added || d.removed || d.changed)
        drift.push(`routing table differs: ${d.added} keys missing, ${d.removed} extra, ${d.changed} changed`);
      // Each dial plan's and each usage's rules (the route rows are one per route and checked by count).
      const wanted = new Map<number, typeof expect.dialplan>();
      for (const r of expect.dialplan) {
        const list = wanted.get(r.dpid) ?? [];
        list.push(r);
        wanted.set(r.dpid, list);
      }
      let checked = 0;
      for (const [dpid, list] of wanted) {
        if (dpid % SLOT_DPID_BASE >= 2_000_000 && checked > 0) continue;
        checked++;
        const got = await rpc.dialplanDump(dpid);
        const a = got.map((e) => `${e.pr}\0${e.matchExp}\0${e.replExp}\0${e.attrs}`).join("\n");
        const b = [...list]
          .sort((x, y) => x.pr - y.pr)
          .map((e) => `${e.pr}\0${e.matchExp}\0${e.replExp}\0${e.attrs}`)
          .join("\n");
        if (a !== b) drift.push(`dial plan rules of dpid ${dpid} differ`);
        if (drift.length > 10) break;
      }
      // Users: a sample of keys, read one by one.
      const step = Math.max(1, Math.floor(expect.users.length / USER_SAMPLE));
      for (let i = 0; i < expect.users.length && drift.length <= 10; i += step) {
        const u = expect.users[i];
        if (!u) break;
        const v = await rpc.htableGet(usersHtable(slot), u.key);
        if (v === null || String(v) !== u.value)
          drift.push(`caller ${u.key} is ${v === null ? "missing" : `"${String(v)}"`}, published "${u.value}"`);
      }
    }
    return { ...base, reachable: true, generation, slot, matches: drift.length === 0, drift };
  } catch (err) {
    return {
      ...base,
      reachable: false,
      generation: null,
      slot: null,
      matches: false,
      drift: [err instanceof Error ? err.message : String(err)],
    };
  }
}

/**
 * `voice publish --status`: the latest generation, whether the configuration has changed since,
 * and for each proxy the generation it runs, read back from Kamailio with a check of its tables.
 */
export async function publishStatus(ctx: Ctx): Promise<PublishStatus> {
  const held = await latestPublication(ctx, true);
  let unpublishedChanges = false;
  let compileError: string | null = null;
  try {
    const now = await compileTenant(ctx);
    unpublishedChanges = now.hash !== held?.content_hash;
  } catch (err) {
    compileError = err instanceof Error ? err.message : String(err);
    unpublishedChanges = true;
  }
  const proxies: ProxyStatus[] = [];
  for (const p of await proxyRows(ctx)) proxies.push(await exclusive(p.rpc_address, () => readBack(p, held)));
  const history = await rows<{ generation: number; created_at: Date | string; actor: string; rollback_of: number | null }>(
    ctx.db,
    sql`select generation, created_at, actor, rollback_of from voice_publications where tenant_id = ${ctx.tenantId}
        order by generation desc limit 20`,
  );
  return {
    generation: held?.generation ?? null,
    publishedAt: held ? iso(held.created_at) : null,
    publishedBy: held?.actor ?? null,
    rollbackOf: held?.rollback_of ?? null,
    unpublishedChanges,
    compileError,
    proxies,
    history: history.map((h) => ({
      generation: h.generation,
      publishedAt: iso(h.created_at) ?? "",
      publishedBy: h.actor,
      rollbackOf: h.rollback_of,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Impact preview.

export interface PublishPlan extends Impact {
  /** The generation the calls were compared with (the latest published), or null: every call is new. */
  liveGeneration: number | null;
  /** Why the publish would be refused, when it would (the comparison is still made). */
  refusals: { kind: string; name: string; reason: string }[];
  ms: number;
}

/** Numbers accepted from a caller's CSV of dialled numbers: at most this many. */
export const MAX_LISTED_NUMBERS = 10_000;
/** Calls compared at most (callers × destinations): about 20 s of work on one core. */
const MAX_CALLS = 4_000_000;

/**
 * `voice publish --plan`: every user with a line URI or SIP address × the numbers they are likely to
 * dial (and `listed` numbers), routed by the live generation and by the configuration about to be
 * published; how many calls change route, gateways or normalized number, or become unroutable or
 * routable, with examples. Publishes nothing.
 */
export async function planPublish(ctx: Ctx, opts: { listed?: { dialled: string; user?: string }[] } = {}): Promise<PublishPlan> {
  const listed = opts.listed ?? [];
  if (listed.length > MAX_LISTED_NUMBERS)
    throw new AppError("invalid_input", `${listed.length} dialled numbers were given: at most ${MAX_LISTED_NUMBERS}; give a sample.`);
  for (const [i, l] of listed.entries()) {
    if (!/^\+?[0-9*#]{1,64}$/.test(l.dialled))
      throw new AppError(
        "invalid_input",
        `Dialled number ${i + 1} ("${l.dialled.slice(0, 70)}") is not digits (an optional + first, at most 64).`,
        [{ path: `numbers[${i}]`, message: "digits, an optional + first" }],
      );
  }
  const started = performance.now();
  const live = await latestPublication(ctx, true);
  const next = await loadGenerationInput(ctx);
  const g = compileGeneration(next, 0);
  const callers = await rows<{ user_principal_name: string; usage_location: string | null; on_prem_line_uri: string | null }>(
    ctx.db,
    sql`select user_principal_name, usage_location, on_prem_line_uri from users
        where tenant_id = ${ctx.tenantId} and deleted_at is null and (on_prem_line_uri is not null or sip_address is not null) order by id`,
  );
  const estimate = callers.length * (20 + listed.filter((l) => !l.user).length);
  if (estimate > MAX_CALLS)
    throw new AppError(
      "invalid_input",
      `That is about ${estimate.toLocaleString("en-US")} calls to compare (${callers.length} callers): at most ${MAX_CALLS.toLocaleString("en-US")}; give fewer dialled numbers, or name the user each one is dialled by.`,
    );
  const impact = compareConfigurations(
    live?.input ?? null,
    next,
    callers.map((c) => ({ userPrincipalName: c.user_principal_name, usageLocation: c.usage_location, lineUri: c.on_prem_line_uri })),
    listed,
  );
  return {
    liveGeneration: live?.generation ?? null,
    refusals: g.refusals.slice(0, 50),
    ...impact,
    ms: Math.round(performance.now() - started),
  };
}
