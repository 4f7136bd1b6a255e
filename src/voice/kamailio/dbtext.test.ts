import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type DialplanRow,
  escapeDbText,
  initDataDir,
  parseDbTextRow,
  readDialplan,
  readHtable,
  readPointer,
  writeDialplanSlot,
  writePointer,
  writeRoutingSlot,
  writeUsers,
} from "./dbtext.ts";

describe("db_text escaping", () => {
  it.each([
    ["plain", "+14255551234", "+14255551234"],
    ["a colon, the field separator", "hp=127.0.0.1:5060", String.raw`hp=127.0.0.1\:5060`],
    ["a non-capturing group", String.raw`^(?:1)?(\d{10})\z`, String.raw`^(?\:1)?(\\d{10})\\z`],
    ["a backslash", String.raw`+1\1`, String.raw`+1\\1`],
    ["an escaped backslash and colon together", String.raw`\:`, String.raw`\\\:`],
    ["newline, carriage return, tab, NUL", "a\nb\rc\td\0e", String.raw`a\nb\rc\td\0e`],
    ["a pipe and semicolons (not special)", "fr=2000;codes=408|503", "fr=2000;codes=408|503"],
  ])("%s", (_name, value, written) => {
    expect(escapeDbText(value)).toBe(written);
    expect(parseDbTextRow(written)).toEqual([value]);
  });

  it("refuses an empty string, naming it (db_text would read NULL)", () => {
    expect(() => escapeDbText("", "dialplan row 3: attrs")).toThrow(/dialplan row 3: attrs is empty/);
  });

  it("splits a row on unescaped colons only", () => {
    expect(parseDbTextRow(String.raw`1:0\:g\:2:0:0:hp=10.0.0.1\:5060;fr=1000:0`)).toEqual([
      "1",
      "0:g:2",
      "0",
      "0",
      "hp=10.0.0.1:5060;fr=1000",
      "0",
    ]);
  });

  it("refuses an escape Kamailio would refuse", () => {
    expect(() => parseDbTextRow(String.raw`1:a\db`)).toThrow(/Bad escape/);
  });
});

describe("db_text tables", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "callplane-dbtext-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string) => readFileSync(path.join(dir, name), "utf8");

  const slot0: DialplanRow[] = [
    { dpid: 0, pr: 0, matchExp: String.raw`^(\d{4})\z`, substExp: String.raw`^(\d{4})\z`, replExp: String.raw`+1425555\1`, attrs: "ext" },
    { dpid: 1_000_000, pr: 0, matchExp: String.raw`^\+1425`, substExp: "^", replExp: "r", attrs: "0" },
  ];
  const slot1: DialplanRow[] = [
    { dpid: 10_000_000, pr: 0, matchExp: "^(?:00)?(\\d+)\\z", substExp: "^(?:00)?(\\d+)\\z", replExp: "+\\1", attrs: "intl: 00" },
  ];

  it("starts with the version table and empty tables, and never overwrites a table", () => {
    initDataDir(dir);
    expect(file("version")).toBe(
      "id(int,auto) table_name(string) table_version(int)\n1:dialplan:2\n2:cp:2\n3:cpu0:2\n4:cpu1:2\n5:cpgen:2\n",
    );
    expect(file("dialplan")).toBe(
      "id(int,auto) dpid(int) pr(int) match_op(int) match_exp(string) match_len(int) subst_exp(string) repl_exp(string) attrs(string)\n",
    );
    expect(file("cpgen")).toBe("id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)\n");
    writePointer(dir, { slot: 1, gen: 4 });
    const versionMtime = statSync(path.join(dir, "version")).mtimeMs;
    initDataDir(dir);
    expect(readPointer(dir)).toEqual({ slot: 1, gen: 4 });
    expect(statSync(path.join(dir, "version")).mtimeMs).toBe(versionMtime);
  });

  it("writes dialplan rows typed and escaped, and a slot's write keeps the other slot's rows as they were", () => {
    writeDialplanSlot(dir, 0, slot0);
    expect(file("dialplan").split("\n")[1]).toBe(String.raw`1:0:0:1:^(\\d{4})\\z:0:^(\\d{4})\\z:+1425555\\1:ext`);
    writeDialplanSlot(dir, 1, slot1);
    expect(readDialplan(dir)).toEqual([...slot0, ...slot1]);
    // Republishing slot 0 replaces only slot 0.
    const changed = [{ ...slot0[0], replExp: String.raw`+1425556\1` } as DialplanRow];
    writeDialplanSlot(dir, 0, changed);
    expect(readDialplan(dir)).toEqual([...slot1, ...changed]);
  });

  it("refuses a dialplan row outside the slot written, or with an empty field", () => {
    expect(() => writeDialplanSlot(dir, 0, slot1)).toThrow(/dpid 10000000 is not in slot 0/);
    expect(() => writeDialplanSlot(dir, 0, [{ ...slot0[1], attrs: "" } as DialplanRow])).toThrow(
      /dialplan row 1 \(dpid 1000000\): attrs is empty/,
    );
    expect(() => writeDialplanSlot(dir, 1, [{ ...slot1[0], dpid: 20_000_000 } as DialplanRow])).toThrow(/dpid must be an integer/);
  });

  it("writes cp per slot with prefixed keys, keeping the other slot's entries", () => {
    writeRoutingSlot(dir, 0, [
      { key: "0:p:0", value: "1,0" },
      { key: "0:g:0", value: "hp=127.0.0.1:5070;fr=2000;codes=408|503|504" },
    ]);
    expect(file("cp").split("\n").slice(1, 3)).toEqual([
      String.raw`1:0\:p\:0:0:0:1,0:0`,
      String.raw`2:0\:g\:0:0:0:hp=127.0.0.1\:5070;fr=2000;codes=408|503|504:0`,
    ]);
    writeRoutingSlot(dir, 1, [{ key: "1:p:0", value: "none" }]);
    writeRoutingSlot(dir, 0, [{ key: "0:p:0", value: "0" }]);
    expect(readHtable(dir, "cp")).toEqual([
      { key: "1:p:0", value: "none" },
      { key: "0:p:0", value: "0" },
    ]);
    expect(() => writeRoutingSlot(dir, 1, [{ key: "0:p:1", value: "0" }])).toThrow(/not in slot 1/);
    expect(() =>
      writeRoutingSlot(dir, 1, [
        { key: "1:p:1", value: "0" },
        { key: "1:p:1", value: "1" },
      ]),
    ).toThrow(/appears twice/);
  });

  it("writes a slot's users to its own table, and the pointer as integers", () => {
    writeUsers(dir, 1, [{ key: "alice", value: "dp=0;pol=-1" }]);
    expect(file("cpu1").split("\n")[1]).toBe("1:alice:0:0:dp=0;pol=-1:0");
    writePointer(dir, { slot: 1, gen: 12 });
    expect(file("cpgen").split("\n").slice(1)).toEqual(["1:slot:0:1:1:0", "2:gen:0:1:12:0", ""]);
    expect(readPointer(dir)).toEqual({ slot: 1, gen: 12 });
    expect(() => writePointer(dir, { slot: 0, gen: -1 })).toThrow(/gen must be an integer/);
  });

  it("gives each new file an mtime at least a second past the old one's (db_text compares whole seconds)", () => {
    writePointer(dir, { slot: 0, gen: 1 });
    const first = Math.floor(statSync(path.join(dir, "cpgen")).mtimeMs / 1000);
    writePointer(dir, { slot: 1, gen: 2 });
    const second = Math.floor(statSync(path.join(dir, "cpgen")).mtimeMs / 1000);
    writePointer(dir, { slot: 0, gen: 3 });
    const third = Math.floor(statSync(path.join(dir, "cpgen")).mtimeMs / 1000);
    expect(second).toBeGreaterThan(first);
    expect(third).toBeGreaterThan(second);
    // Written through a temporary file, renamed: nothing else is left in the folder.
    expect(readdirSync(dir)).toEqual(["cpgen"]);
  });

  it("reads back a table a person edited, refusing what Kamailio would refuse", () => {
    writeFileSync(
      path.join(dir, "cp"),
      "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)\n1:0\\:p\\:0:0:0:x\\y:0\n",
    );
    expect(() => readHtable(dir, "cp")).toThrow(/Bad escape/);
  });
});
