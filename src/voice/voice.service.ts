/**
 * Outbound voice routing configuration: PSTN usages, PSTN gateways, voice routes and voice routing
 * policies (Set-CsPstnUsage, New-CsOnlinePSTNGateway, New-CsVoiceRoute, New-CsVoiceRoutingPolicy and
 * their online twins). Every change runs in one transaction with its audit event; a refused change
 * writes nothing.
 */
import { isIP } from "node:net";
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.service.ts";
import { type Ctx, inTransaction } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { rows } from "../store/db.ts";
import { compilePattern } from "./pattern.ts";

// ---------------------------------------------------------------------------------------------
// Shared helpers.

const NAME_MAX = 256;

/** Trims a name and refuses an empty or over-long one, naming what it is for. */
export function cleanName(kind: string, value: string, extra?: RegExp): string {
  const name = value.trim();
  if (!name) throw new AppError("invalid_input", `The ${kind} name is empty: give one.`);
  if (name.length > NAME_MAX)
    throw new AppError("invalid_input", `The ${kind} name is ${name.length} characters long: use at most ${NAME_MAX}.`);
  if (extra?.test(name)) {
    const chars = [...extra.source.replace(/^\[|\]$/g, "")].map((c) => `"${c}"`).join(" or ");
    throw new AppError("invalid_input", `The ${kind} name "${name}" may not contain ${chars}: choose another.`);
  }
  return name;
}

/** Finds duplicates (case-insensitively) in a list of names. */
function duplicatesOf(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    const k = n.toLowerCase();
    if (seen.has(k)) dup.add(n);
    seen.add(k);
  }
  return [...dup];
}

/**
 * Serializes changes to a tenant's voice configuration (a transaction-scoped advisory lock), so
 * "still in use" checks, priority shifts and whole-list rewrites never race another writer.
 */
export async function lockVoiceConfig(tx: Ctx): Promise<void> {
  await tx.db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`callplane-voice:${tx.tenantId}`}, 0))`);
}

/** A text[] value from a list, without building array literals by hand (names may hold quotes or braces). */
export function textArray(list: readonly string[]): ReturnType<typeof sql> {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(list)}::jsonb))`;
}

/**
 * Where a repeated group holds an unbounded repetition, e.g. `(a+)+` or `(\d*-)*`: the engine runs
 * it in linear time, but a backtracking engine (Skype for Business and Teams run .NET regexes, and
 * the reference resolver JavaScript's) can take exponential time, so it is refused before storing.
 * Returns the offending group's text, or null.
 */
export function nestedRepetition(pattern: string): string | null {
  const stack: { start: number; innerUnbounded: boolean }[] = [];
  let inClass = false;
  const quantifierAt = (i: number): { unbounded: boolean; repeats: boolean; length: number } | null => {
    const c = pattern[i];
    if (c === "+" || c === "*") return { unbounded: true, repeats: true, length: 1 };
    if (c === "?") return { unbounded: false, repeats: false, length: 1 };
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (!m) return null;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
    return { unbounded: max === Number.POSITIVE_INFINITY, repeats: max > 1, length: m[0].length };
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      continue;
    }
    if (c === "(") {
      stack.push({ start: i, innerUnbounded: false });
      continue;
    }
    if (c === ")") {
      const group = stack.pop();
      if (!group) continue;
      const q = quantifierAt(i + 1);
      if (q?.repeats && group.innerUnbounded) return pattern.slice(group.start, i + 1 + q.length);
      const unbounded = group.innerUnbounded || (q?.unbounded ?? false);
      const parent = stack[stack.length - 1];
      if (parent && unbounded) parent.innerUnbounded = true;
      continue;
    }
    const q = quantifierAt(i);
    if (q) {
      if (q.unbounded) {
        const parent = stack[stack.length - 1];
        if (parent) parent.innerUnbounded = true;
      }
      i += q.length - 1;
      if (pattern[i + 1] === "?") i++;
    }
  }
  return null;
}

/**
 * Validates a number pattern with the linear-time engine (the engine's message names the reason
 * and the fix) and refuses nested unbounded repetition; returns the pattern.
 */
export function checkNumberPattern(pattern: string): string {
  compilePattern(pattern);
  const nested = nestedRepetition(pattern);
  if (nested) {
    throw new AppError(
      "invalid_input",
      `The pattern "${pattern}" is not valid: ${nested} repeats a repetition, which can take exponential time on a backtracking regex engine (super-linear). Repeat the inner part once, e.g. "(a+)+" → "a+".`,
      [{ path: "pattern", message: "nested repetition" }],
    );
  }
  return pattern;
}

// ---------------------------------------------------------------------------------------------
// PSTN usages: one ordered list per tenant.

async function readUsages(ctx: Ctx): Promise<string[]> {
  const r = await rows<{ name: string }>(
    ctx.db,
    sql`select name from pstn_usages where tenant_id = ${ctx.tenantId} order by position, name`,
  );
  return r.map((x) => x.name);
}

/** Get-CsPstnUsage: the tenant's PSTN usages in order. */
export async function listPstnUsages(ctx: Ctx): Promise<string[]> {
  return readUsages(ctx);
}

/** Maps names to the tenant's spelling of existing usages; throws naming the missing ones and the fix. */
async function existingUsages(ctx: Ctx, names: readonly string[], what: string): Promise<string[]> {
  const all = await readUsages(ctx);
  const byKey = new Map(all.map((u) => [u.toLowerCase(), u]));
  const missing = names.filter((n) => !byKey.has(n.trim().toLowerCase()));
  if (missing.length) {
    throw new AppError(
      "not_found",
      `${what} names PSTN usage${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} that do${missing.length > 1 ? "" : "es"} not exist: add ${missing.length > 1 ? "them" : "it"} first with \`callplane voice usages add ${missing[0]}\`${all.length ? ` (the tenant has ${all.join(", ")})` : " (the tenant has none yet)"}.`,
      missing.map((m) => ({ path: "pstnUsages", message: `"${m}" does not exist` })),
    );
  }
  const out = names.map((n) => byKey.get(n.trim().toLowerCase()) ?? n);
  const dup = duplicatesOf(out);
  if (dup.length)
    throw new AppError("invalid_input", `${what} lists PSTN usage ${dup.map((d) => `"${d}"`).join(", ")} more than once: list each once.`);
  return out;
}

/** Which routes and policies name a usage, for refusing its removal. */
async function usageUsers(ctx: Ctx, name: string): Promise<{ routes: string[]; policies: string[] }> {
  const key = name.toLowerCase();
  const routes = await rows<{ name: string }>(
    ctx.db,
    sql`select name from voice_routes where tenant_id = ${ctx.tenantId}
        and exists (select 1 from unnest(pstn_usages) u where lower(u) = ${key}) order by priority, name`,
  );
  const policies = await rows<{ identity: string }>(
    ctx.db,
    sql`select identity from voice_routing_policies where tenant_id = ${ctx.tenantId}
        and exists (select 1 from unnest(pstn_usages) u where lower(u) = ${key}) order by lower(identity)`,
  );
  return { routes: routes.map((r) => r.name), policies: policies.map((p) => p.identity) };
}

async function refuseUsageInUse(ctx: Ctx, name: string): Promise<void> {
  const users = await usageUsers(ctx, name);
  if (users.routes.length === 0 && users.policies.length === 0) return;
  const parts = [
    users.routes.length ? `route${users.routes.length > 1 ? "s" : ""} ${users.routes.map((r) => `"${r}"`).join(", ")}` : "",
    users.policies.length
      ? `voice routing polic${users.policies.length > 1 ? "ies" : "y"} ${users.policies.map((p) => `"${p}"`).join(", ")}`
      : "",
  ].filter(Boolean);
  throw new AppError(
    "invalid_input",
    `PSTN usage "${name}" is still used by ${parts.join(" and ")}: take it out of them first (\`callplane voice routes set\`, \`callplane voice policies set\`).`,
  );
}

async function writeUsages(ctx: Ctx, names: readonly string[]): Promise<void> {
  await ctx.db.execute(sql`delete from pstn_usages where tenant_id = ${ctx.tenantId}`);
  if (names.length === 0) return;
  const payload = JSON.stringify(names.map((name, position) => ({ name, position })));
  await ctx.db.execute(sql`insert into pstn_usages (tenant_id, name, position)
    select ${ctx.tenantId}::uuid, x.name, x.position from jsonb_to_recordset(${payload}::jsonb) as x(name text, position int)`);
}

export interface PstnUsageChange {
  /** Add these (at `position`, 0 = first, or at the end). */
  add?: string[];
  /** Remove these; refused while a route or policy names one. */
  remove?: string[];
  /** Replace the whole list; refused if that drops a usage in use. */
  replace?: string[];
  position?: number;
}

/** Set-CsPstnUsage `-Usage @{add=…}` / `@{remove=…}` / `@{replace=…}`: returns the list in order. */
export async function setPstnUsages(ctx: Ctx, change: PstnUsageChange): Promise<string[]> {
  const given = [change.add, change.remove, change.replace].filter((x) => x !== undefined).length;
  if (given !== 1) throw new AppError("invalid_input", "Give exactly one of add, remove or replace (as Set-CsPstnUsage -Usage @{add=…}).");
  if (change.position !== undefined && change.add === undefined) throw new AppError("invalid_input", "position only goes with add.");
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await readUsages(tx);
    const key = (s: string) => s.toLowerCase();
    let after: string[];
    if (change.add) {
      const names = change.add.map((n) => cleanName("PSTN usage", n, /[,;]/));
      const dup = duplicatesOf(names);
      if (dup.length) throw new AppError("invalid_input", `PSTN usage "${dup[0]}" is listed twice: list each once.`);
      const existing = names.filter((n) => before.some((b) => key(b) === key(n)));
      if (existing.length)
        throw new AppError("duplicate", `PSTN usage ${existing.map((e) => `"${e}"`).join(", ")} already exists: the list is unchanged.`);
      const at = change.position ?? before.length;
      if (!Number.isInteger(at) || at < 0 || at > before.length) {
        throw new AppError(
          "invalid_input",
          `Position ${at} is out of range: give 0 to ${before.length} (0 is first), or omit it to add at the end.`,
        );
      }
      after = [...before.slice(0, at), ...names, ...before.slice(at)];
    } else if (change.remove) {
      const missing = change.remove.filter((n) => !before.some((b) => key(b) === key(n.trim())));
      if (missing.length) {
        throw new AppError(
          "not_found",
          `PSTN usage ${missing.map((m) => `"${m}"`).join(", ")} does not exist${before.length ? `: the tenant has ${before.join(", ")}` : ""}.`,
        );
      }
      const drop = new Set(change.remove.map((n) => key(n.trim())));
      for (const u of before.filter((b) => drop.has(key(b)))) await refuseUsageInUse(tx, u);
      after = before.filter((b) => !drop.has(key(b)));
    } else {
      const names = (change.replace ?? []).map((n) => cleanName("PSTN usage", n, /[,;]/));
      const dup = duplicatesOf(names);
      if (dup.length) throw new AppError("invalid_input", `PSTN usage "${dup[0]}" is listed twice: list each once.`);
      const kept = new Set(names.map(key));
      for (const u of before.filter((b) => !kept.has(key(b)))) await refuseUsageInUse(tx, u);
      // Keep the stored spelling of a usage that stays, so routes and policies still name it exactly.
      after = names.map((n) => before.find((b) => key(b) === key(n)) ?? n);
    }
    await writeUsages(tx, after);
    await recordAudit(tx, [{ operation: "pstn-usage.set", targetType: "pstn-usage", targetId: null, before, after }]);
    return after;
  });
}

/** Adds one usage at the end, or at `position` (0 = first). */
export async function addPstnUsage(ctx: Ctx, name: string, position?: number): Promise<string[]> {
  return setPstnUsages(ctx, { add: [name], position });
}

/** Removes one usage; refused while a route or policy names it. */
export async function removePstnUsage(ctx: Ctx, name: string): Promise<string[]> {
  return setPstnUsages(ctx, { remove: [name] });
}

// ---------------------------------------------------------------------------------------------
// PSTN gateways.

export interface Gateway {
  identity: string;
  fqdn: string;
  /** Where the SIP proxy sends this gateway's calls (host name or IP address); null: the FQDN. */
  signalingAddress: string | null;
  sipSignalingPort: number;
  enabled: boolean;
  failoverTimeSeconds: number;
  failoverResponseCodes: string;
  sendSipOptions: boolean;
  forwardPai: boolean;
  mediaBypass: boolean;
  maxConcurrentSessions: number | null;
}

interface GatewayRow {
  id: string;
  fqdn: string;
  signaling_address: string | null;
  sip_signaling_port: number;
  enabled: boolean;
  failover_time_seconds: number;
  failover_response_codes: string;
  send_sip_options: boolean;
  forward_pai: boolean;
  media_bypass: boolean;
  max_concurrent_sessions: number | null;
}

function toGateway(r: GatewayRow): Gateway {
  return {
    identity: r.fqdn,
    fqdn: r.fqdn,
    signalingAddress: r.signaling_address,
    sipSignalingPort: r.sip_signaling_port,
    enabled: r.enabled,
    failoverTimeSeconds: r.failover_time_seconds,
    failoverResponseCodes: r.failover_response_codes,
    sendSipOptions: r.send_sip_options,
    forwardPai: r.forward_pai,
    mediaBypass: r.media_bypass,
    maxConcurrentSessions: r.max_concurrent_sessions,
  };
}

const FQDN = /^(?=.{1,63}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A gateway FQDN: at most 63 characters (the reference's limit), dotted DNS labels; stored in lower case. */
export function cleanFqdn(value: string): string {
  const fqdn = value
    .trim()
    .replace(/^PSTNGateway:/i, "")
    .toLowerCase();
  if (fqdn.length > 63)
    throw new AppError("invalid_input", `The gateway FQDN "${fqdn}" is ${fqdn.length} characters long: the limit is 63.`);
  if (!FQDN.test(fqdn)) {
    throw new AppError("invalid_input", `"${value.trim()}" is not a fully qualified domain name: give one such as sbc1.contoso.com.`);
  }
  return fqdn;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST_LABELS = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * A gateway's signalling address: a host name, an IPv4 address or a bracketed IPv6 address, without a port
 * (the port is SipSignalingPort). Empty: none (the FQDN is used). Stored in lower case.
 */
export function cleanSignalingAddress(value: string | null): string | null {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return null;
  const fix =
    "give a host name or an IP address without a port, e.g. 10.0.0.5, sbc1.internal or [2001:db8::5] (the port is SipSignalingPort)";
  if (v.length > 255)
    throw new AppError("invalid_input", `The signalling address is ${v.length} characters long: ${fix}.`, [
      { path: "signalingAddress", message: `not a signalling address: ${fix}` },
    ]);
  const v6 = /^\[([0-9a-f:.]+)\]$/.exec(v);
  if (v6?.[1] && isIP(v6[1]) === 6) return v;
  if (IPV4.test(v) || (!/^\d+(\.\d+)*$/.test(v) && HOST_LABELS.test(v))) return v;
  throw new AppError("invalid_input", `"${value?.trim()}" is not a signalling address: ${fix}.`, [
    { path: "signalingAddress", message: `not a signalling address: ${fix}` },
  ]);
}

/** Failover response codes: a comma-separated list of SIP codes 100–699, stored as "408,503,504". */
export function cleanFailoverCodes(value: string): string {
  const codes = value
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  if (codes.length === 0)
    throw new AppError("invalid_input", 'The failover response codes are empty: give SIP codes such as "408, 503, 504".');
  const bad = codes.filter((c) => !/^[1-6]\d{2}$/.test(c));
  if (bad.length) {
    throw new AppError(
      "invalid_input",
      `Failover response code${bad.length > 1 ? "s" : ""} ${bad.map((b) => `"${b}"`).join(", ")} ${bad.length > 1 ? "are" : "is"} not a SIP response code (three digits, 100–699), e.g. "408, 503, 504".`,
    );
  }
  return [...new Set(codes)].join(",");
}

function checkRange(label: string, value: number | null | undefined, lo: number, hi: number): void {
  if (value === undefined || value === null) return;
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new AppError("invalid_input", `${label} ${value} is out of range: give a whole number from ${lo} to ${hi}.`);
  }
}

export interface GatewayInput {
  fqdn: string;
  signalingAddress?: string | null;
  sipSignalingPort: number;
  enabled?: boolean;
  failoverTimeSeconds?: number;
  failoverResponseCodes?: string;
  sendSipOptions?: boolean;
  forwardPai?: boolean;
  mediaBypass?: boolean;
  maxConcurrentSessions?: number | null;
}

export type GatewayPatch = Partial<Omit<GatewayInput, "fqdn">>;

function checkGatewayNumbers(input: GatewayPatch): void {
  checkRange("SipSignalingPort", input.sipSignalingPort, 1, 65535);
  checkRange("FailoverTimeSeconds", input.failoverTimeSeconds, 1, 3600);
  checkRange("MaxConcurrentSessions", input.maxConcurrentSessions, 1, 100_000);
}

async function findGatewayRow(ctx: Ctx, identity: string): Promise<GatewayRow | undefined> {
  const fqdn = identity
    .trim()
    .replace(/^PSTNGateway:/i, "")
    .toLowerCase();
  const [r] = await rows<GatewayRow>(ctx.db, sql`select * from pstn_gateways where tenant_id = ${ctx.tenantId} and lower(fqdn) = ${fqdn}`);
  return r;
}

/** Get-CsOnlinePSTNGateway. */
export async function listGateways(ctx: Ctx): Promise<Gateway[]> {
  const r = await rows<GatewayRow>(ctx.db, sql`select * from pstn_gateways where tenant_id = ${ctx.tenantId} order by fqdn`);
  return r.map(toGateway);
}

/** Get-CsOnlinePSTNGateway -Identity. */
export async function getGateway(ctx: Ctx, identity: string): Promise<Gateway> {
  const r = await findGatewayRow(ctx, identity);
  if (!r) throw new AppError("not_found", `No PSTN gateway is named "${identity}": list them with \`callplane voice gateways list\`.`);
  return toGateway(r);
}

/** New-CsOnlinePSTNGateway: disabled unless asked, failover after 10 s on 408, 503 or 504. */
export async function createGateway(ctx: Ctx, input: GatewayInput): Promise<Gateway> {
  const fqdn = cleanFqdn(input.fqdn);
  if (input.sipSignalingPort === undefined)
    throw new AppError("invalid_input", "SipSignalingPort is required: give the port the SBC listens on, 1–65535.");
  checkGatewayNumbers(input);
  const codes = cleanFailoverCodes(input.failoverResponseCodes ?? "408,503,504");
  const address = cleanSignalingAddress(input.signalingAddress ?? null);
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    if (await findGatewayRow(tx, fqdn))
      throw new AppError("duplicate", `A PSTN gateway ${fqdn} already exists: change it with \`callplane voice gateways set ${fqdn}\`.`);
    await tx.db.execute(sql`insert into pstn_gateways (tenant_id, fqdn, signaling_address, sip_signaling_port, enabled, failover_time_seconds,
        failover_response_codes, send_sip_options, forward_pai, media_bypass, max_concurrent_sessions)
      values (${tx.tenantId}, ${fqdn}, ${address}, ${input.sipSignalingPort}, ${input.enabled ?? false}, ${input.failoverTimeSeconds ?? 10}, ${codes},
        ${input.sendSipOptions ?? true}, ${input.forwardPai ?? false}, ${input.mediaBypass ?? false}, ${input.maxConcurrentSessions ?? null})`);
    const after = await getGateway(tx, fqdn);
    await recordAudit(tx, [{ operation: "pstn-gateway.create", targetType: "pstn-gateway", targetId: fqdn, after }]);
    return after;
  });
}

/** Set-CsOnlinePSTNGateway: only the given settings change. */
export async function setGateway(ctx: Ctx, identity: string, patch: GatewayPatch): Promise<Gateway> {
  checkGatewayNumbers(patch);
  const codes = patch.failoverResponseCodes === undefined ? undefined : cleanFailoverCodes(patch.failoverResponseCodes);
  const address = patch.signalingAddress === undefined ? undefined : cleanSignalingAddress(patch.signalingAddress);
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getGateway(tx, identity);
    const next: Gateway = {
      ...before,
      signalingAddress: address === undefined ? before.signalingAddress : address,
      sipSignalingPort: patch.sipSignalingPort ?? before.sipSignalingPort,
      enabled: patch.enabled ?? before.enabled,
      failoverTimeSeconds: patch.failoverTimeSeconds ?? before.failoverTimeSeconds,
      failoverResponseCodes: codes ?? before.failoverResponseCodes,
      sendSipOptions: patch.sendSipOptions ?? before.sendSipOptions,
      forwardPai: patch.forwardPai ?? before.forwardPai,
      mediaBypass: patch.mediaBypass ?? before.mediaBypass,
      maxConcurrentSessions: patch.maxConcurrentSessions === undefined ? before.maxConcurrentSessions : patch.maxConcurrentSessions,
    };
    await tx.db.execute(sql`update pstn_gateways set signaling_address = ${next.signalingAddress},
        sip_signaling_port = ${next.sipSignalingPort}, enabled = ${next.enabled},
        failover_time_seconds = ${next.failoverTimeSeconds}, failover_response_codes = ${next.failoverResponseCodes},
        send_sip_options = ${next.sendSipOptions}, forward_pai = ${next.forwardPai}, media_bypass = ${next.mediaBypass},
        max_concurrent_sessions = ${next.maxConcurrentSessions}
      where tenant_id = ${tx.tenantId} and fqdn = ${before.fqdn}`);
    const after = await getGateway(tx, before.fqdn);
    await recordAudit(tx, [{ operation: "pstn-gateway.set", targetType: "pstn-gateway", targetId: before.fqdn, before, after }]);
    return after;
  });
}

/** Remove-CsOnlinePSTNGateway: refused while a route lists the gateway. */
export async function removeGateway(ctx: Ctx, identity: string): Promise<Gateway> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getGateway(tx, identity);
    const using = await rows<{ name: string }>(
      tx.db,
      sql`select name from voice_routes where tenant_id = ${tx.tenantId}
          and exists (select 1 from unnest(pstn_gateways) g where lower(g) = ${before.fqdn}) order by priority, name`,
    );
    if (using.length) {
      throw new AppError(
        "invalid_input",
        `PSTN gateway ${before.fqdn} is still used by route${using.length > 1 ? "s" : ""} ${using.map((u) => `"${u.name}"`).join(", ")}: take it out of them first with \`callplane voice routes set NAME --gateways …\`.`,
      );
    }
    await tx.db.execute(sql`delete from pstn_gateways where tenant_id = ${tx.tenantId} and fqdn = ${before.fqdn}`);
    await recordAudit(tx, [{ operation: "pstn-gateway.remove", targetType: "pstn-gateway", targetId: before.fqdn, before }]);
    return before;
  });
}

/** Maps gateway names to stored FQDNs; throws naming the missing ones. */
async function existingGateways(ctx: Ctx, names: readonly string[], what: string): Promise<string[]> {
  const all = await listGateways(ctx);
  const out: string[] = [];
  const missing: string[] = [];
  for (const n of names) {
    const key = n
      .trim()
      .replace(/^PSTNGateway:/i, "")
      .toLowerCase();
    const found = all.find((g) => g.fqdn === key);
    if (found) out.push(found.fqdn);
    else missing.push(n);
  }
  if (missing.length) {
    throw new AppError(
      "not_found",
      `${what} names PSTN gateway${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} that do${missing.length > 1 ? "" : "es"} not exist: create ${missing.length > 1 ? "them" : "it"} first with \`callplane voice gateways create ${missing[0]} --sip-signaling-port 5061\`.`,
      missing.map((m) => ({ path: "pstnGateways", message: `"${m}" does not exist` })),
    );
  }
  const dup = duplicatesOf(out);
  if (dup.length) throw new AppError("invalid_input", `${what} lists gateway ${dup[0]} more than once: list each once.`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Voice routes.

export interface Route {
  identity: string;
  name: string;
  description: string | null;
  numberPattern: string;
  priority: number;
  pstnUsages: string[];
  pstnGateways: string[];
  suppressCallerId: boolean;
  alternateCallerId: string | null;
}

/** A change to a route, with what the reference would warn about (no usages, no gateways). */
export interface RouteChange {
  route: Route;
  warnings: string[];
}

interface RouteRow {
  id: string;
  name: string;
  description: string | null;
  number_pattern: string;
  priority: number;
  pstn_usages: string[];
  pstn_gateways: string[];
  suppress_caller_id: boolean;
  alternate_caller_id: string | null;
}

function toRoute(r: RouteRow): Route {
  return {
    identity: r.name,
    name: r.name,
    description: r.description,
    numberPattern: r.number_pattern,
    priority: r.priority,
    pstnUsages: r.pstn_usages,
    pstnGateways: r.pstn_gateways,
    suppressCallerId: r.suppress_caller_id,
    alternateCallerId: r.alternate_caller_id,
  };
}

/** The reference's default number pattern (New-CsVoiceRoute). */
export const DEFAULT_NUMBER_PATTERN = "[0-9]{10}";
const ALTERNATE_CALLER_ID = /^(\+)?[1-9]\d*(;ext=[1-9]\d*)?$/;

export interface RouteInput {
  name: string;
  description?: string | null;
  numberPattern?: string;
  priority?: number;
  pstnUsages?: string[];
  pstnGateways?: string[];
  suppressCallerId?: boolean;
  alternateCallerId?: string | null;
}

export type RoutePatch = Partial<Omit<RouteInput, "name">>;

async function findRouteRow(ctx: Ctx, identity: string): Promise<RouteRow | undefined> {
  const [r] = await rows<RouteRow>(
    ctx.db,
    sql`select * from voice_routes where tenant_id = ${ctx.tenantId} and lower(name) = ${identity.trim().toLowerCase()}`,
  );
  return r;
}

/** Get-CsVoiceRoute / Get-CsOnlineVoiceRoute, lowest priority first. */
export async function listRoutes(ctx: Ctx): Promise<Route[]> {
  const r = await rows<RouteRow>(ctx.db, sql`select * from voice_routes where tenant_id = ${ctx.tenantId} order by priority, name`);
  return r.map(toRoute);
}

export async function getRoute(ctx: Ctx, identity: string): Promise<Route> {
  const r = await findRouteRow(ctx, identity);
  if (!r) throw new AppError("not_found", `No voice route is named "${identity}": list them with \`callplane voice routes list\`.`);
  return toRoute(r);
}

function checkCallerId(suppress: boolean, alternate: string | null): void {
  if (alternate !== null && !ALTERNATE_CALLER_ID.test(alternate)) {
    throw new AppError(
      "invalid_input",
      `AlternateCallerId "${alternate}" is not valid: give digits with an optional leading + and ;ext=, e.g. +14255550100 or +14255550100;ext=100.`,
    );
  }
  if (suppress && alternate === null) {
    throw new AppError("invalid_input", "SuppressCallerId needs an AlternateCallerId to show instead: give one such as +14255550100.");
  }
}

function checkPriorityValue(priority: number | undefined): void {
  if (priority === undefined) return;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1_000_000) {
    throw new AppError(
      "invalid_input",
      `Priority ${priority} is not valid: give a whole number from 0 (tried first) upwards, or omit it for the next free one.`,
    );
  }
}

/**
 * Frees `priority` for a new or moved route: when another route holds it, that route and every
 * route after it move down by one, so relative order is kept (as Skype for Business does).
 */
async function makeRoomForRoute(ctx: Ctx, priority: number, exceptId: string | null): Promise<string[]> {
  const taken = await rows<{ name: string }>(
    ctx.db,
    sql`select name from voice_routes where tenant_id = ${ctx.tenantId} and priority = ${priority}
        ${exceptId ? sql`and id <> ${exceptId}` : sql``}`,
  );
  if (taken.length === 0) return [];
  const shifted = await rows<{ name: string }>(
    ctx.db,
    sql`update voice_routes set priority = priority + 1, updated_at = now()
        where tenant_id = ${ctx.tenantId} and priority >= ${priority} ${exceptId ? sql`and id <> ${exceptId}` : sql``}
        returning name`,
  );
  return shifted.map((s) => s.name);
}

function routeWarnings(route: Route, shifted: string[]): string[] {
  const w: string[] = [];
  if (route.pstnUsages.length === 0)
    w.push(`Route "${route.name}" has no PSTN usages: no voice routing policy can reach it until you add one.`);
  if (route.pstnGateways.length === 0)
    w.push(`Route "${route.name}" has no PSTN gateways: calls it matches have nowhere to go until you add one.`);
  if (shifted.length) {
    w.push(`Priority ${route.priority} was taken: ${shifted.map((s) => `"${s}"`).join(", ")} moved down by one to make room.`);
  }
  return w;
}

/**
 * New-CsVoiceRoute / New-CsOnlineVoiceRoute. The pattern is checked by the linear-time engine;
 * usages and gateways must exist. Omitted priority → one after the last route; a priority already
 * held pushes that route and the ones after it down by one.
 */
export async function createRoute(ctx: Ctx, input: RouteInput): Promise<RouteChange> {
  const name = cleanName("voice route", input.name);
  const numberPattern = checkNumberPattern(input.numberPattern ?? DEFAULT_NUMBER_PATTERN);
  checkPriorityValue(input.priority);
  const suppress = input.suppressCallerId ?? false;
  const alternate = input.alternateCallerId?.trim() || null;
  checkCallerId(suppress, alternate);
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    if (await findRouteRow(tx, name))
      throw new AppError(
        "duplicate",
        `A voice route named "${name}" already exists: change it with \`callplane voice routes set ${name}\`.`,
      );
    const usages = await existingUsages(tx, input.pstnUsages ?? [], `Route "${name}"`);
    const gateways = await existingGateways(tx, input.pstnGateways ?? [], `Route "${name}"`);
    let priority = input.priority;
    let shifted: string[] = [];
    if (priority === undefined) {
      const [m] = await rows<{ next: number }>(
        tx.db,
        sql`select coalesce(max(priority) + 1, 0)::int as next from voice_routes where tenant_id = ${tx.tenantId}`,
      );
      priority = m?.next ?? 0;
    } else {
      shifted = await makeRoomForRoute(tx, priority, null);
    }
    await tx.db.execute(sql`insert into voice_routes (tenant_id, name, description, number_pattern, priority, pstn_usages, pstn_gateways,
        suppress_caller_id, alternate_caller_id)
      values (${tx.tenantId}, ${name}, ${input.description ?? null}, ${numberPattern}, ${priority},
        ${textArray(usages)}, ${textArray(gateways)}, ${suppress}, ${alternate})`);
    const route = await getRoute(tx, name);
    await recordAudit(tx, [{ operation: "voice-route.create", targetType: "voice-route", targetId: name, after: route }]);
    return { route, warnings: routeWarnings(route, shifted) };
  });
}

/** Set-CsVoiceRoute / Set-CsOnlineVoiceRoute: only the given settings change; lists are replaced whole. */
export async function setRoute(ctx: Ctx, identity: string, patch: RoutePatch): Promise<RouteChange> {
  if (patch.numberPattern !== undefined) checkNumberPattern(patch.numberPattern);
  checkPriorityValue(patch.priority);
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const row = await findRouteRow(tx, identity);
    if (!row) throw new AppError("not_found", `No voice route is named "${identity}": list them with \`callplane voice routes list\`.`);
    const before = toRoute(row);
    const what = `Route "${before.name}"`;
    const usages = patch.pstnUsages ? await existingUsages(tx, patch.pstnUsages, what) : before.pstnUsages;
    const gateways = patch.pstnGateways ? await existingGateways(tx, patch.pstnGateways, what) : before.pstnGateways;
    const suppress = patch.suppressCallerId ?? before.suppressCallerId;
    const alternate = patch.alternateCallerId === undefined ? before.alternateCallerId : patch.alternateCallerId?.trim() || null;
    checkCallerId(suppress, alternate);
    let shifted: string[] = [];
    const priority = patch.priority ?? before.priority;
    if (patch.priority !== undefined && patch.priority !== before.priority) shifted = await makeRoomForRoute(tx, patch.priority, row.id);
    await tx.db.execute(sql`update voice_routes set description = ${patch.description === undefined ? before.description : patch.description},
        number_pattern = ${patch.numberPattern ?? before.numberPattern}, priority = ${priority},
        pstn_usages = ${textArray(usages)}, pstn_gateways = ${textArray(gateways)},
        suppress_caller_id = ${suppress}, alternate_caller_id = ${alternate}, updated_at = now()
      where id = ${row.id}`);
    const route = await getRoute(tx, before.name);
    await recordAudit(tx, [{ operation: "voice-route.set", targetType: "voice-route", targetId: before.name, before, after: route }]);
    return { route, warnings: routeWarnings(route, shifted) };
  });
}

/** Remove-CsVoiceRoute / Remove-CsOnlineVoiceRoute. */
export async function removeRoute(ctx: Ctx, identity: string): Promise<Route> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getRoute(tx, identity);
    await tx.db.execute(sql`delete from voice_routes where tenant_id = ${tx.tenantId} and lower(name) = ${before.name.toLowerCase()}`);
    await recordAudit(tx, [{ operation: "voice-route.remove", targetType: "voice-route", targetId: before.name, before }]);
    return before;
  });
}

// ---------------------------------------------------------------------------------------------
// Voice routing policies.

export const GLOBAL = "Global";

export interface Policy {
  /** `Global` or the policy name (the reference's `Tag:Name` without `Tag:`). */
  identity: string;
  scope: "global" | "user";
  description: string | null;
  /** Tried in this order. */
  pstnUsages: string[];
}

interface PolicyRow {
  id: string;
  identity: string;
  description: string | null;
  pstn_usages: string[];
}

function toPolicy(r: PolicyRow): Policy {
  const global = r.identity.toLowerCase() === "global";
  return {
    identity: global ? GLOBAL : r.identity,
    scope: global ? "global" : "user",
    description: r.description,
    pstnUsages: r.pstn_usages,
  };
}

/** `Global`, `Tag:Name` or `Name` → the stored identity; site scope is refused (online users ignore it). */
export function policyIdentity(value: string): string {
  const v = value.trim();
  if (v.toLowerCase() === "global") return GLOBAL;
  if (/^site:/i.test(v)) {
    throw new AppError(
      "policy_not_allowed",
      `"${v}" is a site-level policy: voice routing policies here are Global or per-user (New-CsVoiceRoutingPolicy is per-user only, and online users ignore site policies).`,
    );
  }
  return cleanName("voice routing policy", v.replace(/^tag:/i, ""), /[:/]/);
}

/** The Global policy always exists: created (empty, audited) the first time anything asks for it. */
async function ensureGlobalPolicy(ctx: Ctx): Promise<void> {
  const [r] = await rows<{ id: string }>(
    ctx.db,
    sql`select id from voice_routing_policies where tenant_id = ${ctx.tenantId} and lower(identity) = 'global'`,
  );
  if (r) return;
  await inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const created = await rows<PolicyRow>(
      tx.db,
      sql`insert into voice_routing_policies (tenant_id, identity, pstn_usages) values (${tx.tenantId}, ${GLOBAL}, '{}'::text[])
          on conflict do nothing returning id, identity, description, pstn_usages`,
    );
    const [row] = created;
    if (row)
      await recordAudit(tx, [
        { operation: "voice-routing-policy.create", targetType: "voice-routing-policy", targetId: GLOBAL, after: toPolicy(row) },
      ]);
  });
}

async function findPolicyRow(ctx: Ctx, identity: string): Promise<PolicyRow | undefined> {
  const [r] = await rows<PolicyRow>(
    ctx.db,
    sql`select id, identity, description, pstn_usages from voice_routing_policies where tenant_id = ${ctx.tenantId} and lower(identity) = ${identity.toLowerCase()}`,
  );
  return r;
}

/** Get-CsVoiceRoutingPolicy / Get-CsOnlineVoiceRoutingPolicy: Global first, then by name. */
export async function listPolicies(ctx: Ctx): Promise<Policy[]> {
  await ensureGlobalPolicy(ctx);
  const r = await rows<PolicyRow>(
    ctx.db,
    sql`select id, identity, description, pstn_usages from voice_routing_policies where tenant_id = ${ctx.tenantId}
        order by lower(identity) = 'global' desc, lower(identity)`,
  );
  return r.map(toPolicy);
}

export async function getPolicy(ctx: Ctx, identity: string): Promise<Policy> {
  const id = policyIdentity(identity);
  if (id === GLOBAL) await ensureGlobalPolicy(ctx);
  const r = await findPolicyRow(ctx, id);
  if (!r)
    throw new AppError(
      "not_found",
      `No voice routing policy is named "${id}": list them with \`callplane voice policies list\`, or create it with \`callplane voice policies create ${id} --usages …\`.`,
    );
  return toPolicy(r);
}

/**
 * The policy that applies for a granted policy name: null (Grant-… -PolicyName $null) → Global.
 * For the directory and hybrid modules; throws not_found naming the policy.
 */
export async function getEffectivePolicy(ctx: Ctx, name: string | null): Promise<Policy> {
  return getPolicy(ctx, name?.trim() ? name : GLOBAL);
}

export interface PolicyInput {
  identity: string;
  description?: string | null;
  pstnUsages?: string[];
}

/** New-CsVoiceRoutingPolicy / New-CsOnlineVoiceRoutingPolicy (per-user scope); usages must exist. */
export async function createPolicy(ctx: Ctx, input: PolicyInput): Promise<Policy> {
  const identity = policyIdentity(input.identity);
  if (identity === GLOBAL) {
    throw new AppError(
      "duplicate",
      "The Global voice routing policy always exists: change it with `callplane voice policies set Global --usages …`.",
    );
  }
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    if (await findPolicyRow(tx, identity)) {
      throw new AppError(
        "duplicate",
        `A voice routing policy named "${identity}" already exists: change it with \`callplane voice policies set ${identity}\`.`,
      );
    }
    const usages = await existingUsages(tx, input.pstnUsages ?? [], `Voice routing policy "${identity}"`);
    await tx.db.execute(sql`insert into voice_routing_policies (tenant_id, identity, description, pstn_usages)
      values (${tx.tenantId}, ${identity}, ${input.description ?? null}, ${textArray(usages)})`);
    const after = await getPolicy(tx, identity);
    await recordAudit(tx, [{ operation: "voice-routing-policy.create", targetType: "voice-routing-policy", targetId: identity, after }]);
    return after;
  });
}

/** Set-CsVoiceRoutingPolicy: the usage list is replaced whole, in the order given. */
export async function setPolicy(ctx: Ctx, identity: string, patch: Omit<PolicyInput, "identity">): Promise<Policy> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getPolicy(tx, identity);
    const usages = patch.pstnUsages
      ? await existingUsages(tx, patch.pstnUsages, `Voice routing policy "${before.identity}"`)
      : before.pstnUsages;
    await tx.db.execute(sql`update voice_routing_policies set description = ${patch.description === undefined ? before.description : patch.description},
        pstn_usages = ${textArray(usages)}, updated_at = now()
      where tenant_id = ${tx.tenantId} and lower(identity) = ${before.identity.toLowerCase()}`);
    const after = await getPolicy(tx, before.identity);
    await recordAudit(tx, [
      { operation: "voice-routing-policy.set", targetType: "voice-routing-policy", targetId: before.identity, before, after },
    ]);
    return after;
  });
}

/** How many (not deleted) users have the policy granted, on-premises or online. */
async function usersWithPolicy(ctx: Ctx, identity: string): Promise<number> {
  const key = identity.toLowerCase();
  const [r] = await rows<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from users where tenant_id = ${ctx.tenantId} and deleted_at is null
        and (lower(on_prem_voice_routing_policy) = ${key} or lower(online_voice_routing_policy) = ${key})`,
  );
  return r?.n ?? 0;
}

/**
 * Remove-CsVoiceRoutingPolicy: refused while users have it granted. Removing Global resets it to
 * no usages (it always exists), as the reference does.
 */
export async function removePolicy(ctx: Ctx, identity: string): Promise<Policy> {
  return inTransaction(ctx, async (tx) => {
    await lockVoiceConfig(tx);
    const before = await getPolicy(tx, identity);
    if (before.identity === GLOBAL) {
      await tx.db.execute(sql`update voice_routing_policies set description = null, pstn_usages = '{}'::text[], updated_at = now()
        where tenant_id = ${tx.tenantId} and lower(identity) = 'global'`);
      const after = await getPolicy(tx, GLOBAL);
      await recordAudit(tx, [
        { operation: "voice-routing-policy.reset", targetType: "voice-routing-policy", targetId: GLOBAL, before, after },
      ]);
      return after;
    }
    const n = await usersWithPolicy(tx, before.identity);
    if (n > 0) {
      throw new AppError(
        "invalid_input",
        `Voice routing policy "${before.identity}" is granted to ${n} user${n > 1 ? "s" : ""}: grant them another policy (or none, for Global) first.`,
      );
    }
    await tx.db.execute(
      sql`delete from voice_routing_policies where tenant_id = ${tx.tenantId} and lower(identity) = ${before.identity.toLowerCase()}`,
    );
    await recordAudit(tx, [
      { operation: "voice-routing-policy.remove", targetType: "voice-routing-policy", targetId: before.identity, before },
    ]);
    return before;
  });
}
