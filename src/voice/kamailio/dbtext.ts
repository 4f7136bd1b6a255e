/**
 * Writes Callplane's compiled routing tables as Kamailio db_text files (the folder `config.ts` points
 * Kamailio at), one function per table group so that a publish can write the inactive slot, have
 * Kamailio reload it, and flip the pointer last:
 *
 *   writeDialplanSlot(dir, s', rows)    both slots in one file: the live slot's rows are kept as they are
 *   writeRoutingSlot(dir, s', rows)     htable `cp`, likewise
 *   writeUsers(dir, s', rows)           htable `cpu<s'>`, a file of its own
 *   (reload dialplan, cp, cpu<s'> over RPC)
 *   writePointer(dir, { slot: s', gen }) htable `cpgen`, written (and reloaded) last
 *
 * db_text format (Kamailio's db_text module): a header line of typed columns, then one row per
 * line, fields separated by `:`. In a string `\` is written `\\`, `:` `\:`, and newline, carriage
 * return, tab and NUL `\n`, `\r`, `\t`, `\0`. An empty string reads back as NULL, which the
 * dialplan and htable columns refuse, so empty strings are refused here, by name.
 *
 * Each file is written to a temporary name, synced and renamed, so Kamailio reads the old file or
 * the new one, never half of one. db_text notices a change by the file's mtime in whole seconds
 * (strictly newer than the one it loaded), so each new file's mtime is set at least one second past
 * the previous file's: two publishes within a second would otherwise leave the second unseen.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, utimesSync, writeSync } from "node:fs";
import path from "node:path";

/** A generation slot: Kamailio routes from one while Callplane writes the other. */
export type Slot = 0 | 1;

/** dpid = slot * SLOT_DPID_BASE + dial plan index (normalization rules). */
export const SLOT_DPID_BASE = 10_000_000;
/** dpid = slot base + USAGE_DPID_OFFSET + usage index (the usage's routes in tried order). */
export const USAGE_DPID_OFFSET = 1_000_000;
/** dpid = slot base + ROUTE_DPID_OFFSET + route index (the route's own pattern, for backups). */
export const ROUTE_DPID_OFFSET = 2_000_000;

export const DIALPLAN_TABLE = "dialplan";
/** Policies, usage → routes, route → gateways, gateways, caller ID: keys prefixed `<slot>:`. */
export const ROUTING_HTABLE = "cp";
/** The pointer: keys `slot` and `gen`. */
export const POINTER_HTABLE = "cpgen";
export const VERSION_TABLE = "version";

/** The users of a slot: key = the caller's From user part, value `dp=<index or -1>;pol=<index or -1>`. */
export function usersHtable(slot: Slot): "cpu0" | "cpu1" {
  return slot === 0 ? "cpu0" : "cpu1";
}

/** One dialplan rule (`match_op` is always 1, regex, and `match_len` 0). */
export interface DialplanRow {
  dpid: number;
  pr: number;
  matchExp: string;
  substExp: string;
  replExp: string;
  attrs: string;
}

/** One htable entry; every value is a string except the pointer's. */
export interface HtableRow {
  key: string;
  value: string;
}

/** The live generation: which slot calls read, and the generation number published there. */
export interface GenerationPointer {
  slot: Slot;
  gen: number;
}

const DIALPLAN_HEADER =
  "id(int,auto) dpid(int) pr(int) match_op(int) match_exp(string) match_len(int) subst_exp(string) repl_exp(string) attrs(string)";
const HTABLE_HEADER = "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)";
const VERSION_HEADER = "id(int,auto) table_name(string) table_version(int)";
/** What the modules check in `version` (dialplan does; htable does not today, but the schema has it). */
const TABLE_VERSIONS: ReadonlyArray<readonly [string, number]> = [
  [DIALPLAN_TABLE, 2],
  [ROUTING_HTABLE, 2],
  [usersHtable(0), 2],
  [usersHtable(1), 2],
  [POINTER_HTABLE, 2],
];
/** db_text reads one value into a 64 KB buffer (file_buffer_size in the cfg). */
const MAX_VALUE_LENGTH = 65_000;
/** htable stores integers as C ints. */
const MAX_INT = 2_147_483_647;

/**
 * A string as a db_text field: `\` → `\\`, `:` → `\:`, newline, CR, tab and NUL as `\n`, `\r`,
 * `\t`, `\0`. Throws on an empty string (db_text would read NULL). `what` names the value in errors.
 */
export function escapeDbText(value: string, what = "value"): string {
  if (value === "") throw new Error(`${what} is empty: db_text reads an empty string as NULL, which Kamailio refuses here.`);
  if (value.length > MAX_VALUE_LENGTH)
    throw new Error(`${what} is ${value.length} characters long: db_text reads at most ${MAX_VALUE_LENGTH}.`);
  return value.replace(/[\\:\n\r\t\0]/g, (c) => {
    switch (c) {
      case "\\":
        return "\\\\";
      case ":":
        return "\\:";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return "\\0";
    }
  });
}

/** Splits one db_text row into its fields, undoing the escapes (as db_text reads them). */
export function parseDbTextRow(line: string): string[] {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ":") {
      fields.push(current);
      current = "";
    } else if (c === "\\") {
      const next = line[++i];
      const unescaped = next === undefined ? undefined : { n: "\n", r: "\r", t: "\t", "\\": "\\", ":": ":", "0": "\0" }[next];
      // Kamailio refuses the whole table on an unknown escape: so does this reader.
      if (unescaped === undefined) throw new Error(`Bad escape "\\${next ?? ""}" in db_text row: ${line}`);
      current += unescaped;
    } else {
      current += c;
    }
  }
  fields.push(current);
  return fields;
}

function checkInt(what: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be an integer from ${min} to ${max}, not ${n}.`);
}

/** The slot a dpid belongs to (throws for a dpid outside both slots). */
export function slotOfDpid(dpid: number): Slot {
  checkInt("dpid", dpid, 0, 2 * SLOT_DPID_BASE - 1);
  return dpid < SLOT_DPID_BASE ? 0 : 1;
}

function dialplanLine(id: number, r: DialplanRow, i: number): string {
  const at = `dialplan row ${i + 1} (dpid ${r.dpid})`;
  checkInt(`${at}: dpid`, r.dpid, 0, 2 * SLOT_DPID_BASE - 1);
  checkInt(`${at}: pr`, r.pr, 0, MAX_INT);
  return [
    String(id),
    String(r.dpid),
    String(r.pr),
    "1",
    escapeDbText(r.matchExp, `${at}: match_exp`),
    "0",
    escapeDbText(r.substExp, `${at}: subst_exp`),
    escapeDbText(r.replExp, `${at}: repl_exp`),
    escapeDbText(r.attrs, `${at}: attrs`),
  ].join(":");
}

function htableLine(table: string, id: number, key: string, valueType: 0 | 1, value: string): string {
  const at = `${table} key "${key}"`;
  return [String(id), escapeDbText(key, `${table}: a key`), "0", String(valueType), escapeDbText(value, `${at}: the value`), "0"].join(":");
}

function tableText(header: string, lines: string[]): string {
  return `${header}\n${lines.map((l) => `${l}\n`).join("")}`;
}

/**
 * Writes `text` as `dir/table`: temporary file, fsync, mtime past the old file's (whole seconds),
 * rename, fsync of the folder.
 */
function writeTable(dir: string, table: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, table);
  const tmp = path.join(dir, `.${table}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const nowSeconds = Math.floor(Date.now() / 1000);
  const previous = existsSync(target) ? Math.floor(statSync(target).mtimeMs / 1000) : 0;
  const mtime = Math.max(nowSeconds, previous + 1);
  utimesSync(tmp, mtime, mtime);
  renameSync(tmp, target);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

function readTableRows(dir: string, table: string): string[][] {
  const file = path.join(dir, table);
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split("\n");
  return lines
    .slice(1)
    .filter((l) => l !== "")
    .map(parseDbTextRow);
}

/**
 * Prepares `dir` for Kamailio's first start: the `version` table, and an empty table (header only)
 * for each table not written yet, so that Kamailio starts and answers 503 until a publish.
 * Never overwrites a table that exists.
 */
export function initDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const versions = tableText(
    VERSION_HEADER,
    TABLE_VERSIONS.map(([t, v], i) => `${i + 1}:${t}:${v}`),
  );
  const versionFile = path.join(dir, VERSION_TABLE);
  // Called before every publish: leave an unchanged version table alone.
  if (!existsSync(versionFile) || readFileSync(versionFile, "utf8") !== versions) writeTable(dir, VERSION_TABLE, versions);
  const empty: ReadonlyArray<readonly [string, string]> = [
    [DIALPLAN_TABLE, DIALPLAN_HEADER],
    [ROUTING_HTABLE, HTABLE_HEADER],
    [usersHtable(0), HTABLE_HEADER],
    [usersHtable(1), HTABLE_HEADER],
    [POINTER_HTABLE, HTABLE_HEADER],
  ];
  for (const [table, header] of empty) if (!existsSync(path.join(dir, table))) writeTable(dir, table, tableText(header, []));
}

/** The dialplan rows in `dir` (both slots), in file order. */
export function readDialplan(dir: string): DialplanRow[] {
  return readTableRows(dir, DIALPLAN_TABLE).map((f) => ({
    dpid: Number(f[1]),
    pr: Number(f[2]),
    matchExp: f[4] ?? "",
    substExp: f[6] ?? "",
    replExp: f[7] ?? "",
    attrs: f[8] ?? "",
  }));
}

/**
 * Writes the whole dialplan table: `rows` must hold both slots, since dialplan.reload replaces
 * every rule of every dpid. Prefer `writeDialplanSlot`, which keeps the live slot's rows.
 */
export function writeDialplan(dir: string, rows: readonly DialplanRow[]): void {
  writeTable(
    dir,
    DIALPLAN_TABLE,
    tableText(
      DIALPLAN_HEADER,
      rows.map((r, i) => dialplanLine(i + 1, r, i)),
    ),
  );
}

/**
 * Replaces slot `slot`'s dialplan rows with `rows`, keeping the other slot's rows exactly as they
 * are in the file (the live generation's rules). Every row must have a dpid of `slot`.
 */
export function writeDialplanSlot(dir: string, slot: Slot, rows: readonly DialplanRow[]): void {
  rows.forEach((r, i) => {
    if (slotOfDpid(r.dpid) !== slot) throw new Error(`dialplan row ${i + 1}: dpid ${r.dpid} is not in slot ${slot}.`);
  });
  const kept = readDialplan(dir).filter((r) => slotOfDpid(r.dpid) !== slot);
  writeDialplan(dir, [...kept, ...rows]);
}

/** The string entries of an htable file in `dir` (for the pointer, see `readPointer`). */
export function readHtable(dir: string, table: string): HtableRow[] {
  return readTableRows(dir, table).map((f) => ({ key: f[1] ?? "", value: f[4] ?? "" }));
}

function checkUniqueKeys(table: string, rows: readonly HtableRow[]): void {
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.key)) throw new Error(`${table}: key "${r.key}" appears twice.`);
    seen.add(r.key);
  }
}

/**
 * Replaces slot `slot`'s entries of htable `cp` with `rows` (every key starting `<slot>:`), keeping
 * the other slot's entries as they are in the file.
 */
export function writeRoutingSlot(dir: string, slot: Slot, rows: readonly HtableRow[]): void {
  const prefix = `${slot}:`;
  for (const r of rows)
    if (!r.key.startsWith(prefix)) throw new Error(`${ROUTING_HTABLE}: key "${r.key}" is not in slot ${slot} (it must start "${prefix}").`);
  checkUniqueKeys(ROUTING_HTABLE, rows);
  const kept = readHtable(dir, ROUTING_HTABLE).filter((r) => !r.key.startsWith(prefix));
  const all = [...kept, ...rows];
  writeTable(
    dir,
    ROUTING_HTABLE,
    tableText(
      HTABLE_HEADER,
      all.map((r, i) => htableLine(ROUTING_HTABLE, i + 1, r.key, 0, r.value)),
    ),
  );
}

/** Writes slot `slot`'s users (htable `cpu<slot>`), replacing the file. */
export function writeUsers(dir: string, slot: Slot, rows: readonly HtableRow[]): void {
  const table = usersHtable(slot);
  checkUniqueKeys(table, rows);
  writeTable(
    dir,
    table,
    tableText(
      HTABLE_HEADER,
      rows.map((r, i) => htableLine(table, i + 1, r.key, 0, r.value)),
    ),
  );
}

/** Writes the pointer (htable `cpgen`: `slot` and `gen` as integers). The last write of a publish. */
export function writePointer(dir: string, pointer: GenerationPointer): void {
  if (pointer.slot !== 0 && pointer.slot !== 1) throw new Error(`The slot must be 0 or 1, not ${String(pointer.slot)}.`);
  checkInt("gen", pointer.gen, 0, MAX_INT);
  writeTable(
    dir,
    POINTER_HTABLE,
    tableText(HTABLE_HEADER, [
      htableLine(POINTER_HTABLE, 1, "slot", 1, String(pointer.slot)),
      htableLine(POINTER_HTABLE, 2, "gen", 1, String(pointer.gen)),
    ]),
  );
}

/** The pointer as written in `dir`, or null before the first publish. */
export function readPointer(dir: string): GenerationPointer | null {
  const rows = readHtable(dir, POINTER_HTABLE);
  const slot = rows.find((r) => r.key === "slot")?.value;
  const gen = rows.find((r) => r.key === "gen")?.value;
  if (slot === undefined || gen === undefined) return null;
  if (slot !== "0" && slot !== "1") throw new Error(`${POINTER_HTABLE}: slot is "${slot}", not 0 or 1.`);
  return { slot: slot === "0" ? 0 : 1, gen: Number(gen) };
}
