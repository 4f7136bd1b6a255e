import { readFile } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../core/errors.ts";
import {
  checkUnique,
  type DirectorySource,
  guidFromBytes,
  type OnPremUserObject,
  type RawObject,
  shorten,
  toOnPremObject,
} from "./directory-source.ts";

/** The most values one record may hold, all attributes together: a user object has a few dozen. */
export const MAX_VALUES_PER_RECORD = 10_000;

/** LDAP attribute (lowercase) → field; the first attribute present wins. */
const ATTRIBUTES: [string, keyof RawObject][] = [
  ["objectguid", "immutableId"],
  ["ms-ds-consistencyguid", "immutableId"],
  ["userprincipalname", "userPrincipalName"],
  ["displayname", "displayName"],
  ["cn", "displayName"],
  ["mailnickname", "alias"],
  ["samaccountname", "alias"],
  ["usagelocation", "usageLocation"],
  ["c", "usageLocation"],
  ["msrtcsip-primaryuseraddress", "sipAddress"],
  ["msrtcsip-userenabled", "sipEnabled"],
  ["msrtcsip-primaryhomeserver", "registrarPool"],
  ["msrtcsip-deploymentlocator", "hostingProvider"],
  ["msrtcsip-optionflags", "optionFlags"],
  ["msrtcsip-line", "lineUri"],
  ["voiceroutingpolicy", "voiceRoutingPolicy"],
];

interface LdifValue {
  value: string;
  bytes: Buffer | null;
  line: number;
}

interface LdifRecord {
  line: number;
  dn: string;
  attributes: Map<string, LdifValue[]>;
  values: number;
}

/** How a record is named in messages: its line and its DN (cut short: a DN may be long). */
function recordWhere(fileName: string, r: { line: number; dn: string }): string {
  return `${fileName} line ${r.line} (${shorten(r.dn, 200)})`;
}

/** Splits LDIF text (RFC 2849) into records: unfolds continuation lines, drops comments, decodes `::` base64. */
export function parseLdifRecords(text: string, fileName: string): LdifRecord[] {
  const physical = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  // Logical lines: a line starting with one space continues the previous one.
  const logical: { text: string; line: number }[] = [];
  physical.forEach((l, i) => {
    const prev = logical[logical.length - 1];
    if (l.startsWith(" ") && prev && prev.text !== "") prev.text += l.slice(1);
    else logical.push({ text: l, line: i + 1 });
  });
  const records: LdifRecord[] = [];
  let cur: LdifRecord | undefined;
  for (const { text: l, line } of logical) {
    if (l.startsWith("#")) continue;
    if (l.trim() === "") {
      cur = undefined;
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9;.-]*):(:|<)? *(.*)$/.exec(l);
    if (!m?.[1])
      throw new AppError("invalid_input", `${fileName} line ${line}: "${l.slice(0, 60)}" is not an LDIF line (attribute: value).`);
    const name = (m[1].split(";")[0] ?? m[1]).toLowerCase();
    const kind = m[2];
    const rawValue = m[3] ?? "";
    if (kind === "<")
      throw new AppError(
        "invalid_input",
        `${fileName} line ${line}: URL values (${shorten(name, 60)}:<) are not supported; inline the value.`,
      );
    let value = rawValue;
    let bytes: Buffer | null = null;
    if (kind === ":") {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(rawValue))
        throw new AppError("invalid_input", `${fileName} line ${line}: the base64 value of ${shorten(name, 60)} is not valid base64.`);
      bytes = Buffer.from(rawValue.replace(/\s/g, ""), "base64");
      value = bytes.toString("utf8");
    }
    if (!cur) {
      if (name === "version") continue;
      if (name !== "dn")
        throw new AppError("invalid_input", `${fileName} line ${line}: a record must start with dn:, not ${shorten(name, 60)}:.`);
      cur = { line, dn: value, attributes: new Map(), values: 0 };
      records.push(cur);
      continue;
    }
    if (name === "changetype" && value.trim().toLowerCase() !== "add") {
      throw new AppError(
        "invalid_input",
        `${fileName} line ${line}: changetype ${shorten(value)} is not supported; export the full objects (no changetype, or changetype: add).`,
      );
    }
    if (++cur.values > MAX_VALUES_PER_RECORD) {
      throw new AppError(
        "invalid_input",
        `${recordWhere(fileName, cur)}: the record holds more than ${MAX_VALUES_PER_RECORD.toLocaleString("en-US")} values; no user object has that many: export the users' attributes only.`,
      );
    }
    const list = cur.attributes.get(name) ?? [];
    list.push({ value, bytes, line });
    cur.attributes.set(name, list);
  }
  return records;
}

function isUserRecord(r: LdifRecord): boolean {
  const classes = r.attributes.get("objectclass");
  if (!classes) return true;
  return classes.some((c) => ["user", "inetorgperson", "person"].includes(c.value.trim().toLowerCase()));
}

/** Parses an LDIF export of on-premises users; non-user records (OUs, groups) are skipped. Errors name the file and line. */
export function parseDirectoryLdif(text: string, fileName: string): OnPremUserObject[] {
  const out: { object: OnPremUserObject; where: string }[] = [];
  for (const r of parseLdifRecords(text, fileName)) {
    if (!isUserRecord(r)) continue;
    const classes = r.attributes.get("objectclass");
    if (classes?.some((c) => c.value.trim().toLowerCase() === "computer")) continue;
    const raw: RawObject = {};
    for (const [attr, field] of ATTRIBUTES) {
      if (raw[field] !== undefined) continue;
      const v = r.attributes.get(attr)?.[0];
      if (!v) continue;
      // objectGUID is binary: 16 bytes given as base64 (::); a textual GUID is accepted too.
      raw[field] = (attr === "objectguid" || attr === "ms-ds-consistencyguid") && v.bytes?.length === 16 ? guidFromBytes(v.bytes) : v.value;
    }
    const where = recordWhere(fileName, r);
    out.push({ object: toOnPremObject(raw, where), where });
  }
  checkUnique(out);
  return out.map((o) => o.object);
}

/** An LDIF export read from a file or given as text. */
export class LdifDirectorySource implements DirectorySource {
  readonly name: string;
  readonly #load: () => Promise<string>;

  constructor(name: string, load: () => Promise<string>) {
    this.name = `ldif:${name}`;
    this.#load = load;
  }

  static fromFile(filePath: string): LdifDirectorySource {
    return new LdifDirectorySource(path.basename(filePath), () => readFile(filePath, "utf8"));
  }

  static fromText(text: string, fileName: string): LdifDirectorySource {
    return new LdifDirectorySource(fileName, async () => text);
  }

  async *objects(): AsyncIterable<OnPremUserObject> {
    yield* parseDirectoryLdif(await this.#load(), this.name.slice(5));
  }
}
