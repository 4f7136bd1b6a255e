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
const utf16le = (text: string): Buffer => Buffer.from(text, "utf16le");
const utf16be = (text: string): Buffer => Buffer.from(text, "utf16le").swap16();
const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");
function utf32(text: string, littleEndian: boolean): Buffer {
  const codes = Array.from(text, (ch) => ch.codePointAt(0) ?? 0);
  const bytes = Buffer.alloc(codes.length * 4);
  for (const [i, code] of codes.entries()) {
    if (littleEndian) bytes.writeUInt32LE(code, i * 4);
    else bytes.writeUInt32BE(code, i * 4);
  }
  return bytes;
}
const upns = Array.from({ length: 2000 }, (_, i) => `user${i}@contoso.com`);
const KNOWN_HEADERS =
  "UserPrincipalName, UPN, Identity, SipAddress, SIP, Email, EmailAddress, PrimarySmtpAddress, Mail, Alias, User or UserName";

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
      name: "a list of aliases, its first line included (not taken for a header)",
      text: "jdoe\nalice\nbob",
      expected: { identities: ["jdoe", "alice", "bob"], column: null, rows: 3, duplicates: 0, skipped: [] },
    },
    {
      name: "2,000 UPNs on one line, separated by semicolons",
      text: `${upns.join(";")}\r\n`,
      expected: { identities: upns, column: null, rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "UPNs on one line, separated by tabs, with a tab at the end",
      text: "a@contoso.com\tb@contoso.com\tc@contoso.com\t",
      expected: { identities: ["a@contoso.com", "b@contoso.com", "c@contoso.com"], column: null, rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "a SIP address, an object id and a UPN on one line, separated by commas",
      text: "sip:a@contoso.com, 0f8fad5b-d9cb-469f-a165-70867728950e ,b@contoso.com",
      expected: {
        identities: ["sip:a@contoso.com", "0f8fad5b-d9cb-469f-a165-70867728950e", "b@contoso.com"],
        column: null,
        rows: 1,
        duplicates: 0,
        skipped: [],
      },
    },
    {
      name: "a one-column header over one line of UPNs",
      text: "UserPrincipalName\na@contoso.com;b@contoso.com;A@contoso.com",
      expected: { identities: ["a@contoso.com", "b@contoso.com"], column: "UserPrincipalName", rows: 1, duplicates: 1, skipped: [] },
    },
    {
      name: "one user's row (an address and a name), not split",
      text: "alice@contoso.com;Alice Smith",
      expected: { identities: ["alice@contoso.com"], column: null, rows: 1, duplicates: 0, skipped: [] },
    },
    {
      name: "a CR inside a quoted cell, kept as a CR",
      text: 'UPN\r\n"alice\rsmith@contoso.com"\r\nbob@contoso.com\r\n',
      expected: { identities: ["alice\rsmith@contoso.com", "bob@contoso.com"], column: "UPN", rows: 2, duplicates: 0, skipped: [] },
    },
    {
      name: "CR LF and LF inside quoted cells, kept, and the lines after them counted once per line end",
      text: 'UPN,Note\r\n"a\r\nb@contoso.com",x\r\n,"two\r\nlines"\r\n"c\nd@contoso.com",y\r\n,z',
      expected: {
        identities: ["a\r\nb@contoso.com", "c\nd@contoso.com"],
        column: "UPN",
        rows: 4,
        duplicates: 0,
        skipped: [
          { line: 5, reason: "the UPN cell is empty" },
          { line: 8, reason: "the UPN cell is empty" },
        ],
      },
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
    [
      "bytes that are not UTF-8 among controls",
      Buffer.from([0x61, 0x01, 0xe9, 0x0a]),
      "users.csv is not a text CSV file (it contains binary data)",
    ],
    ["a ZIP (xlsx) header", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), "it contains binary data"],
    [
      "UTF-16 LE text",
      Buffer.from("\uFEFFUPN\r\na@b.c", "utf16le"),
      'users.csv is saved as UTF-16 text: save it again as "CSV UTF-8", or convert it: iconv -f UTF-16 -t UTF-8 users.csv > users-utf8.csv',
    ],
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

  it.each<[string, Buffer, string]>([
    [
      "a header without an identity column",
      csv("Foo,Bar\nalice@contoso.com,1\nbob@contoso.com,2\n"),
      `users.csv starts with a row that looks like a header ("Foo", "Bar") but has no column of user identities: name the identity column ${KNOWN_HEADERS}; if "Foo" is a user, put a header line such as UserPrincipalName above it.`,
    ],
    [
      "a lone DisplayName header",
      csv("DisplayName\nalice@contoso.com"),
      `users.csv starts with a row that looks like a header ("DisplayName") but has no column of user identities: name the identity column ${KNOWN_HEADERS}; if "DisplayName" is a user, put a header line such as UserPrincipalName above it.`,
    ],
    [
      "a directory export's header over names",
      csv("Display Name;Department\nAlice Smith;Sales\n"),
      `users.csv starts with a row that looks like a header ("Display Name", "Department") but has no column of user identities: name the identity column ${KNOWN_HEADERS}; if "Display Name" is a user, put a header line such as UserPrincipalName above it.`,
    ],
    [
      "a wide header without an identity column",
      csv("A,B,C,D,E,F,G\nalice@contoso.com,1,2,3,4,5,6"),
      `users.csv starts with a row that looks like a header ("A", "B", "C", "D", "E", …) but has no column of user identities: name the identity column ${KNOWN_HEADERS}; if "A" is a user, put a header line such as UserPrincipalName above it.`,
    ],
    [
      "a line of identities with something else among them",
      csv("a@contoso.com;b@contoso.com;c@contoso.com;Bob Smith"),
      'users.csv has 4 values on line 1: 3 look like identities but 1 does not (such as "Bob Smith"). Put one identity per line, or a header such as UserPrincipalName and one user per row.',
    ],
    [
      "a line of 2,000 UPNs with two names among them",
      csv(`\n${[...upns, "Alice", "Bob"].join("\t")}`),
      'users.csv has 2002 values on line 2: 2000 look like identities but 2 do not (such as "Alice"). Put one identity per line, or a header such as UserPrincipalName and one user per row.',
    ],
    [
      "UTF-16 LE without a byte order mark",
      utf16le("UPN\r\nalice@contoso.com\r\n"),
      'users.csv is saved as UTF-16 text (little-endian, without a byte order mark): save it again as "CSV UTF-8", or convert it: iconv -f UTF-16LE -t UTF-8 users.csv > users-utf8.csv',
    ],
    [
      "UTF-16 BE without a byte order mark",
      utf16be("alice@contoso.com\nbob@contoso.com"),
      'users.csv is saved as UTF-16 text (big-endian, without a byte order mark): save it again as "CSV UTF-8", or convert it: iconv -f UTF-16BE -t UTF-8 users.csv > users-utf8.csv',
    ],
    [
      "UTF-16 LE without a byte order mark, with names in Japanese",
      utf16le("Name\tUPN\r\n山田太郎\tyamada@contoso.jp\r\n"),
      "users.csv is saved as UTF-16 text (little-endian, without a byte order mark)",
    ],
    [
      "UTF-32 LE with its byte order mark",
      utf32("\uFEFFUPN\r\na@b.c", true),
      'users.csv is saved as UTF-32 text: save it again as "CSV UTF-8", or convert it: iconv -f UTF-32 -t UTF-8 users.csv > users-utf8.csv',
    ],
    ["UTF-32 BE with its byte order mark", utf32("\uFEFFUPN\r\na@b.c", false), "users.csv is saved as UTF-32 text: "],
    [
      "UTF-32 LE without a byte order mark",
      utf32("UPN\na@b.c\n", true),
      'users.csv is saved as UTF-32 text (little-endian, without a byte order mark): save it again as "CSV UTF-8", or convert it: iconv -f UTF-32LE -t UTF-8 users.csv > users-utf8.csv',
    ],
    [
      "UTF-32 BE without a byte order mark",
      utf32("UPN\na@b.c\n", false),
      'users.csv is saved as UTF-32 text (big-endian, without a byte order mark): save it again as "CSV UTF-8", or convert it: iconv -f UTF-32BE -t UTF-8 users.csv > users-utf8.csv',
    ],
    [
      "Latin-1 text",
      latin1("UPN\r\nzoë@contoso.com\r\n"),
      'users.csv is not UTF-8 text: it looks like Latin-1 (ISO-8859-1) or Windows-1252 (Western European), as Excel\'s plain "CSV (Comma delimited)" saves it (the first such character is on line 2). Save it again as "CSV UTF-8", or convert it: iconv -f WINDOWS-1252 -t UTF-8 users.csv > users-utf8.csv (for a file written in another language, name its code page instead of WINDOWS-1252).',
    ],
    [
      "Windows-1252 text (a curly apostrophe)",
      latin1("Name,UPN\r\nAlice,alice@contoso.com\r\nO\x92Brien,obrien@contoso.com\r\n"),
      'users.csv is not UTF-8 text: it looks like Windows-1252 (Western European), as Excel\'s plain "CSV (Comma delimited)" saves it (the first such character is on line 3).',
    ],
    ["Latin-1 text with a DOS end-of-file mark", latin1("zoë@contoso.com\r\n\x1a"), "users.csv is not UTF-8 text: it looks like Latin-1"],
  ])("explains %s", (_name, content, message) => {
    const err = errorOf(() => parseIdentityCsv(content, "users.csv"));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain(message);
  });

  it("quotes a file name with spaces in the iconv command it suggests", () => {
    const err = errorOf(() => parseIdentityCsv(latin1("zoë@contoso.com"), "/tmp/My Users.csv"));
    expect(err.message).toContain("convert it: iconv -f WINDOWS-1252 -t UTF-8 '/tmp/My Users.csv' > '/tmp/My Users-utf8.csv' (");
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
