import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../test/support/errors.ts";
import { AppError } from "./errors.ts";
import { type CsvIdentities, parseIdentityArray, parseIdentityCsv, parseUserList, readIdentityCsvFile } from "./identity-list.ts";

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}

const csv = (text: string): Buffer => Buffer.from(text, "utf8");

describe("parseUserList", () => {
  it.each<[string, string[], number]>([
    ["alice@contoso.com", ["alice@contoso.com"], 0],
    ["alice@contoso.com, bob@contoso.com", ["alice@contoso.com", "bob@contoso.com"], 0],
    ["  alice@contoso.com ,bob@contoso.com  ", ["alice@contoso.com", "bob@contoso.com"], 0],
    ["a;b\nc\r\nd\re", ["a", "b", "c", "d", "e"], 0],
    [",,alice,, ,bob,", ["alice", "bob"], 0],
    ["Alice@Contoso.com, alice@contoso.com, ALICE@CONTOSO.COM", ["Alice@Contoso.com"], 2],
    ["bob, alice, Bob, carol, ALICE", ["bob", "alice", "carol"], 2],
    ["\talice\t", ["alice"], 0],
    ["Zoë@contoso.com, ZOË@contoso.com", ["Zoë@contoso.com"], 1],
  ])("parses %j", (text, identities, duplicates) => {
    expect(parseUserList(text)).toEqual({ identities, duplicates });
  });

  it.each(["", "   ", ",", " , ; \n ", "\r\n"])("rejects the empty list %j", (text) => {
    const err = errorOf(() => parseUserList(text));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toBe(
      'The user list is empty: give one or more identities separated by commas, e.g. --user-list "alice@contoso.com, bob@contoso.com".',
    );
  });
});

describe("parseIdentityArray", () => {
  it.each<[string[], string[], number]>([
    [["alice@contoso.com"], ["alice@contoso.com"], 0],
    [["Lee, Kim", "bob@contoso.com"], ["Lee, Kim", "bob@contoso.com"], 0],
    [["  alice@contoso.com ", "", " ", "ALICE@contoso.com"], ["alice@contoso.com"], 1],
    [["a;b", "c\nd"], ["a;b", "c\nd"], 0],
  ])("keeps each entry of %j whole", (values, identities, duplicates) => {
    expect(parseIdentityArray(values)).toEqual({ identities, duplicates });
  });

  it.each<[string[]]>([[[]], [["", "  "]]])("rejects %j as empty", (values) => {
    const err = errorOf(() => parseIdentityArray(values));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain("identity list is empty");
  });
});

describe("parseIdentityCsv", () => {
  it.each<{ name: string; text: string; expected: CsvIdentities }>([
    {
      name: "a header-less list, one per line",
      text: "alice@contoso.com\nbob@contoso.com\n",
      expected: { identities: ["alice@contoso.com", "bob@contoso.com"], column: null, rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "a header-less list with extra columns",
      text: "alice@contoso.com,Alice\nbob@contoso.com,Bob,extra",
      expected: { identities: ["alice@contoso.com", "bob@contoso.com"], column: null, rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "a UserPrincipalName column that is not first",
      text: "DisplayName,UserPrincipalName\nAlice,alice@contoso.com\nBob,bob@contoso.com",
      expected: {
        identities: ["alice@contoso.com", "bob@contoso.com"],
        column: "UserPrincipalName",
        rows: 2,
        duplicates: 0,
        skipped: [],
      },
    },
    {
      name: "the priority order, UPN over Email",
      text: "Email,Name,UPN\na@mail.com,A,a@contoso.com",
      expected: { identities: ["a@contoso.com"], column: "UPN", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "the priority order, SipAddress over Mail",
      text: "mail,SIP Address\nm@contoso.com,sip:s@contoso.com",
      expected: { identities: ["sip:s@contoso.com"], column: "SIP Address", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "header spellings with spaces, underscores, hyphens and case",
      text: "user_principal-NAME\nalice@contoso.com",
      expected: { identities: ["alice@contoso.com"], column: "user_principal-NAME", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "an E-mail header",
      text: "Name,E-mail\nAlice,alice@contoso.com",
      expected: { identities: ["alice@contoso.com"], column: "E-mail", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "a lone Alias header",
      text: "alias\nalice\nbob",
      expected: { identities: ["alice", "bob"], column: "alias", rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "a header cell with a quoted name and surrounding spaces",
      text: '  "UserPrincipalName"  , Name\n alice@contoso.com ,A',
      expected: { identities: ["alice@contoso.com"], column: "UserPrincipalName", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "empty cells in the identity column, with their line numbers",
      text: "Name,UPN\nAlice,alice@contoso.com\nNobody,\n\nBob,bob@contoso.com\nGhost",
      expected: {
        identities: ["alice@contoso.com", "bob@contoso.com"],
        column: "UPN",
        rows: 4,
        duplicates: 0,
        skipped: [
          { line: 3, reason: "the UPN cell is empty" },
          { line: 6, reason: "the UPN cell is empty" },
        ],
      },
    },
    {
      name: "an empty first cell without a header",
      text: "alice\n,bob\ncarol",
      expected: {
        identities: ["alice", "carol"],
        column: null,
        rows: 3,
        duplicates: 0,
        skipped: [{ line: 2, reason: "the first cell is empty" }],
      },
    },
    {
      name: "duplicates ignoring case, first spelling kept",
      text: "UPN\nAlice@Contoso.com\nbob@contoso.com\nalice@contoso.com\nBOB@CONTOSO.COM\nAlice@Contoso.com",
      expected: {
        identities: ["Alice@Contoso.com", "bob@contoso.com"],
        column: "UPN",
        rows: 5,
        duplicates: 3,
        skipped: [],
      },
    },
    {
      name: "CRLF line endings",
      text: "UPN\r\nalice@contoso.com\r\nbob@contoso.com\r\n",
      expected: { identities: ["alice@contoso.com", "bob@contoso.com"], column: "UPN", rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "old Mac CR line endings",
      text: "alice\rbob\rcarol",
      expected: { identities: ["alice", "bob", "carol"], column: null, rows: 3, duplicates: 0, skipped: [] },
    },
    {
      name: "mixed line endings",
      text: "alice\r\nbob\ncarol\rdave",
      expected: { identities: ["alice", "bob", "carol", "dave"], column: null, rows: 4, duplicates: 0, skipped: [] },
    },
    {
      name: "a UTF-8 BOM before the header",
      text: "\uFEFFUserPrincipalName\nalice@contoso.com",
      expected: { identities: ["alice@contoso.com"], column: "UserPrincipalName", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "semicolon-separated columns as written by European Excel",
      text: "DisplayName;UserPrincipalName\nAlice;alice@contoso.com",
      expected: { identities: ["alice@contoso.com"], column: "UserPrincipalName", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "tab-separated columns",
      text: "Name\tEmail\nAlice\talice@contoso.com",
      expected: { identities: ["alice@contoso.com"], column: "Email", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "quoted cells containing commas",
      text: 'DisplayName,UPN\n"Smith, Alice",alice@contoso.com',
      expected: { identities: ["alice@contoso.com"], column: "UPN", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "blank and whitespace-only lines and rows of empty cells",
      text: "\n\nUPN\n   \n,,\nalice@contoso.com\n\n",
      expected: { identities: ["alice@contoso.com"], column: "UPN", rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "a repeated header row from joined exports",
      text: "UPN,Name\nalice@contoso.com,A\nupn,Name\nbob@contoso.com,B",
      expected: {
        identities: ["alice@contoso.com", "bob@contoso.com"],
        column: "UPN",
        rows: 3,
        duplicates: 0,
        skipped: [{ line: 3, reason: "it repeats the header row" }],
      },
    },
    {
      name: "non-ASCII identities",
      text: "zoë@contoso.com\n山田@contoso.jp",
      expected: { identities: ["zoë@contoso.com", "山田@contoso.jp"], column: null, rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "an unknown header, read as an identity",
      text: "DisplayName\nalice@contoso.com",
      expected: { identities: ["DisplayName", "alice@contoso.com"], column: null, rows: 2, duplicates: 0, skipped: [] },
    },
  ])("reads $name", ({ text, expected }) => {
    expect(parseIdentityCsv(csv(text), "users.csv")).toEqual(expected);
  });

  it.each<[string, Buffer, string]>([
    [
      "an empty file",
      Buffer.alloc(0),
      "The CSV file users.csv is empty: put one identity per line, or a header such as UserPrincipalName and one user per row.",
    ],
    ["a whitespace-only file", csv(" \r\n\t\n"), "The CSV file users.csv is empty"],
    ["a BOM-only file", csv("\uFEFF"), "The CSV file users.csv is empty"],
    ["a file of empty cells", csv(",,\n ; \n"), "The CSV file users.csv is empty"],
    [
      "NUL bytes",
      Buffer.from([0x61, 0x00, 0x62, 0x0a]),
      "users.csv is not a text CSV file (it contains binary data): export the users as CSV text with one identity per line or a UserPrincipalName column.",
    ],
    ["invalid UTF-8", Buffer.from([0x61, 0x6c, 0xe9, 0x0a]), "users.csv is not a text CSV file (it contains binary data)"],
    ["a ZIP (xlsx) header", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), "it contains binary data"],
    ["UTF-16 LE text", Buffer.from("\uFEFFUPN\r\na@b.c", "utf16le"), 'users.csv is saved as UTF-16 text: save it again as "CSV UTF-8"'],
    ["UTF-16 BE text", Buffer.from([0xfe, 0xff, 0x00, 0x61]), "users.csv is saved as UTF-16 text"],
    [
      "a header with no rows",
      csv("Name,UserPrincipalName\n"),
      "users.csv has a UserPrincipalName column but no users under it: add one user per row.",
    ],
    ["a header over empty cells", csv("Name,UPN\nAlice,\nBob,\n"), "users.csv has a UPN column but no users under it"],
    ["no first cells", csv(",alice\n,bob"), "users.csv has no identities in its first column"],
    ["an unclosed quote", csv('UPN\n"alice@contoso.com\nbob'), "users.csv could not be read as CSV (Quote Not Closed"],
    ["text after a closing quote", csv('UPN\n"alice"x\n'), "check the quotes on that line"],
  ])("rejects %s", (_name, content, message) => {
    const err = errorOf(() => parseIdentityCsv(content, "users.csv"));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain(message);
  });

  it("reads a large file", () => {
    const lines = ["UserPrincipalName,DisplayName"];
    for (let i = 0; i < 50_000; i++) lines.push(`user${i}@contoso.com,User ${i}`);
    lines.push("USER0@contoso.com,again");
    const result = parseIdentityCsv(csv(lines.join("\n")), "big.csv");
    expect(result.identities).toHaveLength(50_000);
    expect(result.rows).toBe(50_001);
    expect(result.duplicates).toBe(1);
    expect(result.identities[49_999]).toBe("user49999@contoso.com");
  });
});

describe("readIdentityCsvFile", () => {
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "callplane-identity-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads and parses a file", async () => {
    const path = join(dir, "users.csv");
    await writeFile(path, "\uFEFFUPN\r\nalice@contoso.com\r\n");
    expect(await readIdentityCsvFile(path)).toEqual({
      identities: ["alice@contoso.com"],
      column: "UPN",
      rows: 1,
      duplicates: 0,
      skipped: [],
    });
  });

  it("names the path in parse errors", async () => {
    const path = join(dir, "empty.csv");
    await writeFile(path, "");
    const err = await rejectionOf(readIdentityCsvFile(path));
    expect(err.message).toBe(
      `The CSV file ${path} is empty: put one identity per line, or a header such as UserPrincipalName and one user per row.`,
    );
  });

  it.each([
    ["a missing file", "missing.csv"],
    ["a path through a file", "users.csv/inner.csv"],
  ])("reports %s as not existing", async (_name, relative) => {
    await writeFile(join(dir, "users.csv"), "alice");
    const path = join(dir, relative);
    const err = await rejectionOf(readIdentityCsvFile(path));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toBe(`File does not exist: ${path}. Check the path, or pass the users with --user-list.`);
  });

  it("reports a directory", async () => {
    const err = await rejectionOf(readIdentityCsvFile(dir));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toBe(
      `${dir} is a directory, not a CSV file: give the path of the file itself, or pass the users with --user-list.`,
    );
  });

  it("reports a file it may not read (as root, read by an unprivileged user: root may read anything)", async () => {
    const path = join(dir, "locked.csv");
    await writeFile(path, "alice");
    await chmod(path, 0o000);
    await chmod(dir, 0o755);
    const expected = `Cannot read ${path}: permission denied (EACCES). Check the file's permissions, or pass the users with --user-list.`;
    if (process.getuid?.() === 0) {
      const reader = fileURLToPath(new URL("../../test/support/read-csv-file.ts", import.meta.url));
      // Started as root so it can load its modules even from a clone in a private folder; it reads as nobody.
      const r = spawnSync(process.execPath, ["--import", "tsx", reader, path, "65534"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ uid: 65534, code: "invalid_input", message: expected });
      return;
    }
    const err = await rejectionOf(readIdentityCsvFile(path));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toBe(expected);
  });
});
