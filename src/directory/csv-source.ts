import { readFile } from "node:fs/promises";
import path from "node:path";
import { CsvError, parse } from "csv-parse/sync";
import { AppError } from "../core/errors.ts";
import { checkUnique, type DirectorySource, type OnPremUserObject, type RawObject, shorten, toOnPremObject } from "./directory-source.ts";

/** Header spellings (lowercase, without spaces, dashes, dots or underscores) for each field. */
const HEADERS: Record<keyof RawObject, string[]> = {
  immutableId: ["objectguid", "immutableid", "msdsconsistencyguid", "sourceanchor"],
  userPrincipalName: ["userprincipalname", "upn"],
  displayName: ["displayname", "name", "cn"],
  alias: ["alias", "mailnickname", "samaccountname"],
  usageLocation: ["usagelocation", "c", "country"],
  sipAddress: ["msrtcsipprimaryuseraddress", "sipaddress"],
  sipEnabled: ["msrtcsipuserenabled", "sipenabled", "enabled"],
  registrarPool: ["msrtcsipprimaryhomeserver", "registrarpool", "pool"],
  hostingProvider: ["msrtcsipdeploymentlocator", "hostingprovider", "onpremhostingprovider"],
  enterpriseVoiceEnabled: ["enterprisevoiceenabled"],
  optionFlags: ["msrtcsipoptionflags"],
  lineUri: ["msrtcsipline", "lineuri"],
  voiceRoutingPolicy: ["voiceroutingpolicy"],
};

const norm = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s._-]/g, "");

/** Parses a CSV export of on-premises users (header row required). Errors name the file and line. */
export function parseDirectoryCsv(text: string, fileName: string): OnPremUserObject[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text.replace(/^\uFEFF/, ""), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new AppError("invalid_input", `${fileName}${line ? ` line ${line}` : ""}: not valid CSV (${err.message}).`);
    }
    throw err;
  }
  const [head, ...body] = records;
  if (!head)
    throw new AppError(
      "invalid_input",
      `${fileName}: the file is empty; export the users with a header row (objectGUID, UserPrincipalName, …).`,
    );
  const columns = new Map<keyof RawObject, number>();
  head.record.forEach((h, i) => {
    const n = norm(h);
    for (const [field, names] of Object.entries(HEADERS) as [keyof RawObject, string[]][]) {
      if (names.includes(n) && !columns.has(field)) columns.set(field, i);
    }
  });
  for (const required of ["immutableId", "userPrincipalName"] as const) {
    if (!columns.has(required)) {
      throw new AppError(
        "invalid_input",
        `${fileName} line 1: no ${required === "immutableId" ? "objectGUID (or ImmutableId)" : "UserPrincipalName"} column; the header has ${shorten(head.record.join(", "), 300)}.`,
      );
    }
  }
  const out: { object: OnPremUserObject; where: string }[] = [];
  for (const r of body) {
    const where = `${fileName} line ${r.info.lines}`;
    const raw: RawObject = {};
    for (const [field, i] of columns) raw[field] = r.record[i];
    out.push({ object: toOnPremObject(raw, where), where });
  }
  checkUnique(out);
  return out.map((o) => o.object);
}

/** A CSV export read from a file or given as text. */
export class CsvDirectorySource implements DirectorySource {
  readonly name: string;
  readonly #load: () => Promise<string>;

  constructor(name: string, load: () => Promise<string>) {
    this.name = `csv:${name}`;
    this.#load = load;
  }

  static fromFile(filePath: string): CsvDirectorySource {
    return new CsvDirectorySource(path.basename(filePath), () => readFile(filePath, "utf8"));
  }

  static fromText(text: string, fileName: string): CsvDirectorySource {
    return new CsvDirectorySource(fileName, async () => text);
  }

  async *objects(): AsyncIterable<OnPremUserObject> {
    yield* parseDirectoryCsv(await this.#load(), this.name.slice(4));
  }
}
