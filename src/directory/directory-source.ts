import { AppError } from "../core/errors.ts";
import { normalizeLineUri } from "../hybrid/line-uri.ts";

/** The hosting provider of users homed online (msRTCSIP-DeploymentLocator / OnPremHostingProvider). */
export const ONLINE_HOSTING_PROVIDER = "sipfed.online.lync.com";
/** The hosting provider of users homed on an on-premises pool. */
export const ON_PREM_HOSTING_PROVIDER = "SRV:";

/** One user object of the on-premises directory (Active Directory with the SfB Server attributes). */
export interface OnPremUserObject {
  /** The sync anchor, as a lowercase GUID string. */
  immutableId: string;
  userPrincipalName: string;
  displayName: string;
  alias: string | null;
  usageLocation: string | null;
  /** `sip:user@domain`, or null when the user was never enabled for SfB. */
  sipAddress: string | null;
  sipEnabled: boolean;
  registrarPool: string | null;
  /** `SRV:` (homed on a pool) or `sipfed.online.lync.com` (homed online). */
  hostingProvider: string | null;
  enterpriseVoiceEnabled: boolean;
  /** `tel:+E164[;ext=N]`. */
  lineUri: string | null;
  voiceRoutingPolicy: string | null;
}

/**
 * Where on-premises user objects come from: a CSV or LDIF export today, a live LDAP connector later.
 * `name` is recorded on each object (e.g. `ldif:users.ldif`).
 */
export interface DirectorySource {
  readonly name: string;
  objects(): AsyncIterable<OnPremUserObject>;
}

/** The fields a parser found for one object, as text, before validation. */
export interface RawObject {
  immutableId?: string;
  userPrincipalName?: string;
  displayName?: string;
  alias?: string;
  usageLocation?: string;
  sipAddress?: string;
  sipEnabled?: string;
  registrarPool?: string;
  hostingProvider?: string;
  enterpriseVoiceEnabled?: string;
  optionFlags?: string;
  lineUri?: string;
  voiceRoutingPolicy?: string;
}

/**
 * The longest value of each attribute, in characters. Active Directory's own limits (displayName 256,
 * mailNickname 64) and, where AD allows more, what an online user holds (userPrincipalName 320, SIP
 * address 330, as the users API takes them): every synchronised user can then be found and changed.
 */
export const ATTRIBUTE_MAX_LENGTH: Record<keyof RawObject, number> = {
  immutableId: 256,
  userPrincipalName: 320,
  displayName: 256,
  alias: 64,
  usageLocation: 64,
  sipAddress: 330,
  sipEnabled: 64,
  registrarPool: 1024,
  hostingProvider: 256,
  enterpriseVoiceEnabled: 64,
  optionFlags: 64,
  lineUri: 256,
  voiceRoutingPolicy: 256,
};

/** The most user objects one import takes: a bound for a source with no size of its own (a live LDAP connector). */
export const MAX_OBJECTS_PER_IMPORT = 1_000_000;

/** A value cut for a message: a refused value may be megabytes long. */
export function shorten(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

/** The first attribute of an object longer than the directory allows, or undefined. */
export function tooLongAttribute(o: OnPremUserObject | RawObject): { attribute: keyof RawObject; length: number; max: number } | undefined {
  for (const [attribute, max] of Object.entries(ATTRIBUTE_MAX_LENGTH) as [keyof RawObject, number][]) {
    const v = (o as Partial<Record<keyof RawObject, unknown>>)[attribute];
    if (typeof v === "string" && v.length > max) return { attribute, length: v.length, max };
  }
  return undefined;
}

/** What to say about an over-long attribute: its name, its length and the limit. */
export function tooLongMessage(t: { attribute: string; length: number; max: number }): string {
  return `${t.attribute} is ${t.length} characters long; at most ${t.max} are allowed: shorten it on-premises and export again`;
}

/** msRTCSIP-OptionFlags bit for Enterprise Voice. */
export const ENTERPRISE_VOICE_FLAG = 128;

const GUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;
const UPN = /^[^\s@]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

function hex(b: Buffer, i: number): string {
  return (b[i] ?? 0).toString(16).padStart(2, "0");
}

/** The GUID string of objectGUID's 16 bytes (the first three groups are little-endian, as Windows stores them). */
export function guidFromBytes(b: Buffer): string {
  const h = (...idx: number[]) => idx.map((i) => hex(b, i)).join("");
  return `${h(3, 2, 1, 0)}-${h(5, 4)}-${h(7, 6)}-${h(8, 9)}-${h(10, 11, 12, 13, 14, 15)}`;
}

/**
 * An immutable id as a lowercase GUID: accepts a GUID string (with or without braces) or the
 * base64 form Azure AD shows as ImmutableId (16 bytes). Anything else is kept as given, trimmed.
 */
export function normalizeImmutableId(value: string): string {
  const v = value.trim();
  const m = GUID.exec(v);
  if (m) return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
  if (/^[A-Za-z0-9+/]{22}==$/.test(v)) {
    const bytes = Buffer.from(v, "base64");
    if (bytes.length === 16) return guidFromBytes(bytes);
  }
  return v;
}

export function parseFlag(value: string | undefined, where: string, field: string): boolean | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim().toLowerCase();
  if (["true", "1", "yes", "$true", "y"].includes(v)) return true;
  if (["false", "0", "no", "$false", "n"].includes(v)) return false;
  throw new AppError("invalid_input", `${where}: ${field} "${value}" is not true or false.`);
}

/** The pool FQDN of msRTCSIP-PrimaryHomeServer, which holds a DN (CN=Lc Services,CN=Microsoft,CN=pool01,…) or an FQDN. */
export function poolOf(value: string): string {
  const v = value.trim();
  if (!v.includes("=")) return v.toLowerCase();
  const cns = v
    .split(",")
    .map((p) => p.trim())
    .filter((p) => /^cn=/i.test(p))
    .map((p) => p.slice(3));
  const named = cns.find((c) => !/^(lc services|microsoft)$/i.test(c));
  return (named ?? v).toLowerCase();
}

function blank(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** Validates and normalizes what a parser read; `where` names the file and line for errors. */
export function toOnPremObject(raw: RawObject, where: string): OnPremUserObject {
  // Lengths first: a refused value must not end up in a message, nor in the store.
  const long = tooLongAttribute(raw);
  if (long) {
    const upn = raw.userPrincipalName?.trim();
    const who = upn && long.attribute !== "userPrincipalName" ? ` (${shorten(upn)})` : "";
    throw new AppError("invalid_input", `${where}${who}: ${tooLongMessage(long)}.`);
  }
  const id = blank(raw.immutableId);
  if (!id) throw new AppError("invalid_input", `${where}: the object has no objectGUID / ImmutableId (the sync anchor).`);
  const upn = blank(raw.userPrincipalName);
  if (!upn) throw new AppError("invalid_input", `${where}: the object has no userPrincipalName.`);
  if (!UPN.test(upn)) throw new AppError("invalid_input", `${where}: userPrincipalName "${upn}" is not of the form user@domain.`);
  let sip = blank(raw.sipAddress) ?? null;
  if (sip) {
    const bare = sip.toLowerCase().startsWith("sip:") ? sip.slice(4) : sip;
    if (!UPN.test(bare)) throw new AppError("invalid_input", `${where}: SIP address "${sip}" is not of the form sip:user@domain.`);
    sip = `sip:${bare}`;
  }
  const flags = blank(raw.optionFlags);
  let ev = parseFlag(raw.enterpriseVoiceEnabled, where, "EnterpriseVoiceEnabled");
  if (ev === undefined && flags !== undefined) {
    if (!/^[0-9]+$/.test(flags)) throw new AppError("invalid_input", `${where}: msRTCSIP-OptionFlags "${flags}" is not a number.`);
    ev = (Number(flags) & ENTERPRISE_VOICE_FLAG) !== 0;
  }
  let lineUri: string | null = null;
  const line = blank(raw.lineUri);
  if (line) {
    try {
      lineUri = normalizeLineUri(line);
    } catch (err) {
      if (err instanceof AppError) throw new AppError("invalid_input", `${where}: ${err.message}`);
      throw err;
    }
  }
  const loc = blank(raw.usageLocation)?.toUpperCase() ?? null;
  if (loc && !/^[A-Z]{2}$/.test(loc))
    throw new AppError("invalid_input", `${where}: usage location "${loc}" is not a two-letter country code.`);
  const pool = blank(raw.registrarPool);
  let hosting = blank(raw.hostingProvider) ?? null;
  if (hosting && hosting.toLowerCase() === ONLINE_HOSTING_PROVIDER) hosting = ONLINE_HOSTING_PROVIDER;
  else if (hosting && /^srv:$/i.test(hosting)) hosting = ON_PREM_HOSTING_PROVIDER;
  const sipEnabled = parseFlag(raw.sipEnabled, where, "msRTCSIP-UserEnabled") ?? sip !== null;
  if (sipEnabled && !sip)
    throw new AppError("invalid_input", `${where}: the object is enabled for SfB but has no msRTCSIP-PrimaryUserAddress.`);
  if (sipEnabled && !hosting) hosting = pool ? ON_PREM_HOSTING_PROVIDER : null;
  const object: OnPremUserObject = {
    immutableId: normalizeImmutableId(id),
    userPrincipalName: upn,
    displayName: blank(raw.displayName) ?? upn.split("@")[0] ?? upn,
    alias: blank(raw.alias) ?? null,
    usageLocation: loc,
    sipAddress: sip,
    sipEnabled,
    registrarPool: pool ? poolOf(pool) : null,
    hostingProvider: hosting,
    enterpriseVoiceEnabled: ev ?? false,
    lineUri,
    voiceRoutingPolicy: blank(raw.voiceRoutingPolicy) ?? null,
  };
  // Normalizing can lengthen a value (a SIP address gains its sip: prefix).
  const grown = tooLongAttribute(object);
  if (grown) throw new AppError("invalid_input", `${where} (${shorten(upn)}): ${tooLongMessage(grown)}.`);
  return object;
}

/** Refuses a file that names the same anchor, UPN or line URI twice: the directory cannot hold both. */
export function checkUnique(objects: { object: OnPremUserObject; where: string }[]): void {
  const seen = new Map<string, string>();
  for (const { object: o, where } of objects) {
    const keys = [
      ["objectGUID", o.immutableId.toLowerCase()],
      ["userPrincipalName", o.userPrincipalName.toLowerCase()],
      ...(o.lineUri ? [["line URI", o.lineUri]] : []),
    ];
    for (const [label, key] of keys) {
      const k = `${label}\u0000${key}`;
      const first = seen.get(k);
      if (first) throw new AppError("invalid_input", `${where}: ${label} ${key} is also used at ${first}; each must be unique.`);
      seen.set(k, where);
    }
  }
}
