import { readFile } from "node:fs/promises";
import { CsvError, parse } from "csv-parse/sync";
import { AppError } from "./errors.ts";

/** Identities read from a CSV file, with what was dropped along the way. */
export interface CsvIdentities {
  identities: string[];
  /** The header text of the column the identities came from, or null for a header-less list. */
  column: string | null;
  /** Data rows read, not counting the header or blank lines. */
  rows: number;
  /** Entries dropped because the same identity (ignoring case) came earlier. */
  duplicates: number;
  skipped: { line: number; reason: string }[];
}

/** Recognized identity headers, best first: a UPN names a user most precisely, a bare "user" least. */
const IDENTITY_HEADERS = [
  "UserPrincipalName",
  "UPN",
  "Identity",
  "SipAddress",
  "SIP",
  "Email",
  "EmailAddress",
  "PrimarySmtpAddress",
  "Mail",
  "Alias",
  "User",
  "UserName",
] as const;
const IDENTITY_KEYS = IDENTITY_HEADERS.map(normalizeHeader);

/** Headers of directory and HR exports that name no user: a first row holding one is a header. */
const OTHER_HEADERS = new Set(
  [
    "DisplayName",
    "Name",
    "FullName",
    "FirstName",
    "LastName",
    "GivenName",
    "Surname",
    "Department",
    "Title",
    "JobTitle",
    "Company",
    "Office",
    "Phone",
    "TelephoneNumber",
    "Mobile",
    "City",
    "Country",
    "UsageLocation",
    "Manager",
    "Description",
  ].map(normalizeHeader),
);

/** A UPN, email or SIP address (user@domain, sip:user@domain) or an object id: a value that can only be an identity. */
function looksLikeAddress(value: string): boolean {
  return /^(?:sip:)?[^\s@]+@[^\s@]+$/i.test(value) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

const LIST_HINT = "put one identity per line, or a header such as UserPrincipalName and one user per row";

function normalizeHeader(cell: string): string {
  return cell.toLowerCase().replace(/[\s_-]/g, "");
}

/** Keeps the first spelling of each identity, comparing without case as directories do. */
function collapse(values: string[]): { identities: string[]; duplicates: number } {
  const seen = new Set<string>();
  const identities: string[] = [];
  for (const value of values) {
    const key = value.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    identities.push(value);
  }
  return { identities, duplicates: values.length - identities.length };
}

/**
 * Splits a --user-list value on commas, semicolons or newlines, trims entries and drops empty
 * ones and case-insensitive repeats. Throws invalid_input when nothing is left.
 */
export function parseUserList(text: string): { identities: string[]; duplicates: number } {
  const entries = text
    .split(/[,;\r\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) {
    throw new AppError(
      "invalid_input",
      'The user list is empty: give one or more identities separated by commas, e.g. --user-list "alice@contoso.com, bob@contoso.com".',
    );
  }
  return collapse(entries);
}

/**
 * Identities given one per entry (API callers): trims entries and drops empty ones and
 * case-insensitive repeats, but never splits an entry, so "Lee, Kim" stays one identity.
 * Throws invalid_input when nothing is left.
 */
export function parseIdentityArray(values: string[]): { identities: string[]; duplicates: number } {
  const entries = values.map((value) => value.trim()).filter((value) => value !== "");
  if (entries.length === 0) {
    throw new AppError(
      "invalid_input",
      'The identity list is empty: give one or more identities, e.g. ["alice@contoso.com", "bob@contoso.com"].',
    );
  }
  return collapse(entries);
}

function binaryError(fileName: string): AppError {
  return new AppError(
    "invalid_input",
    `${fileName} is not a text CSV file (it contains binary data): export the users as CSV text with one identity per line or a UserPrincipalName column.`,
  );
}

/** A file name as one shell word, for a command the message suggests. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** The iconv command that converts the file to UTF-8 beside itself (users.csv → users-utf8.csv). */
function iconvHint(from: string, fileName: string): string {
  const target = fileName.replace(/(\.[^./\\]*)?$/, (ext) => `-utf8${ext}`);
  return `iconv -f ${from} -t UTF-8 ${shellWord(fileName)} > ${shellWord(target)}`;
}

/** A C0 control other than tab, line feed, form feed and carriage return: text files do not hold one. */
function isControl(code: number): boolean {
  return code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
}

/**
 * Whether characters decoded without a byte order mark make a list of users: no NUL or other
 * control, and mostly ASCII (UPNs and addresses are), so that a few bytes of a binary file that
 * happen to decode do not count.
 */
function isListText(codes: number[]): boolean {
  if (codes.length < 4) return false;
  let ascii = 0;
  for (const code of codes) {
    if (code === 0 || isControl(code)) return false;
    if (code < 0x7f) ascii++;
  }
  return ascii * 2 > codes.length;
}

/** Whether the bytes are a user list in UTF-32 of that byte order. */
function isUtf32(content: Buffer, littleEndian: boolean): boolean {
  if (content.length % 4 !== 0) return false;
  const codes: number[] = [];
  for (let i = 0; i < content.length; i += 4) {
    const code = littleEndian ? content.readUInt32LE(i) : content.readUInt32BE(i);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    codes.push(code);
  }
  return isListText(codes);
}

/** Whether the bytes are a user list in UTF-16 of that byte order (surrogates in pairs). */
function isUtf16(content: Buffer, littleEndian: boolean): boolean {
  if (content.length % 2 !== 0) return false;
  let text: string;
  try {
    text = new TextDecoder(littleEndian ? "utf-16le" : "utf-16be", { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    return false;
  }
  return isListText(Array.from(text, (ch) => ch.codePointAt(0) ?? 0));
}

/** UTF-32 or UTF-16 text, by its byte order mark or, without one, by where its NUL bytes fall. */
function wideEncodingOf(content: Buffer): { name: string; iconv: string; unmarked?: string } | undefined {
  const [b0, b1, b2, b3] = content;
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return { name: "UTF-32", iconv: "UTF-32" };
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return { name: "UTF-32", iconv: "UTF-32" };
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return { name: "UTF-16", iconv: "UTF-16" };
  // Without a mark, ASCII in UTF-16 or UTF-32 puts its NULs in a pattern no binary file keeps up.
  if (!content.includes(0)) return undefined;
  const unmarked = (bits: 16 | 32, little: boolean) => ({
    name: `UTF-${bits}`,
    iconv: `UTF-${bits}${little ? "LE" : "BE"}`,
    unmarked: `${little ? "little" : "big"}-endian, without a byte order mark`,
  });
  if (isUtf32(content, true)) return unmarked(32, true);
  if (isUtf32(content, false)) return unmarked(32, false);
  if (isUtf16(content, true)) return unmarked(16, true);
  if (isUtf16(content, false)) return unmarked(16, false);
  return undefined;
}

/**
 * Not UTF-8, yet text: no NUL or control bytes (a DOS end-of-file mark at the end aside), so an
 * 8-bit code page such as Windows-1252, which Excel's plain "CSV (Comma delimited)" writes.
 */
function legacyTextError(content: Buffer, fileName: string): AppError | undefined {
  let c1 = false;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i] ?? 0;
    if (byte === 0x1a && i === content.length - 1) continue;
    if (isControl(byte) || byte === 0x7f) return undefined;
    if (byte >= 0x80 && byte <= 0x9f) c1 = true;
  }
  const decoded = new TextDecoder("utf-8").decode(content);
  const line = (decoded.slice(0, decoded.indexOf("\uFFFD")).match(/\r\n|\r|\n/g)?.length ?? 0) + 1;
  // Latin-1 leaves 0x80–0x9F to controls; Windows-1252 puts € „ “ ” and the like there.
  const guess = c1 ? "Windows-1252 (Western European)" : "Latin-1 (ISO-8859-1) or Windows-1252 (Western European)";
  return new AppError(
    "invalid_input",
    `${fileName} is not UTF-8 text: it looks like ${guess}, as Excel's plain "CSV (Comma delimited)" saves it (the first such character is on line ${line}). Save it again as "CSV UTF-8", or convert it: ${iconvHint("WINDOWS-1252", fileName)} (for a file written in another language, name its code page instead of WINDOWS-1252).`,
  );
}

function decodeText(content: Buffer, fileName: string): string {
  const wide = wideEncodingOf(content);
  if (wide) {
    // Excel's "Unicode Text" export is UTF-16; naming it beats calling it binary.
    throw new AppError(
      "invalid_input",
      `${fileName} is saved as ${wide.name} text${wide.unmarked ? ` (${wide.unmarked})` : ""}: save it again as "CSV UTF-8", or convert it: ${iconvHint(wide.iconv, fileName)}`,
    );
  }
  // UTF-8 text never contains NUL, so one means a spreadsheet or other binary file.
  if (content.includes(0)) throw binaryError(fileName);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(content).replace(/^\uFEFF/, "");
  } catch {
    throw legacyTextError(content, fileName) ?? binaryError(fileName);
  }
}

interface Row {
  cells: string[];
  /** The line the row ends on, counting CR LF, LF and a lone CR each as one line end. */
  line: number;
}

function readRecords(text: string, fileName: string): Row[] {
  // csv-parse counts the CR and the LF of a quoted CR LF as two lines, so lines are counted here, from
  // the byte offset where each record ends.
  const bytes = Buffer.from(text, "utf8");
  let counted = 0;
  let line = 1;
  const lineAt = (end: number): number => {
    let stop = end;
    if (bytes[stop - 1] === 0x0a) stop--;
    if (bytes[stop - 1] === 0x0d) stop--;
    for (; counted < stop; counted++) {
      const byte = bytes[counted];
      if (byte === 0x0a || (byte === 0x0d && bytes[counted + 1] !== 0x0a)) line++;
    }
    return line;
  };
  const lines: number[] = [];
  let records: string[][];
  try {
    records = parse(bytes, {
      // Excel in many locales writes ";" between columns; identities never contain ";" or tabs.
      delimiter: [",", ";", "\t"],
      // Named rather than detected: detection is done once and mixed line endings confused it. A line
      // end inside a quoted cell stays as written.
      record_delimiter: ["\r\n", "\n", "\r"],
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
      on_record: (record: string[], context) => {
        lines.push(lineAt(context.bytes));
        return record;
      },
    });
  } catch (err) {
    if (err instanceof CsvError) {
      throw new AppError(
        "invalid_input",
        `${fileName} could not be read as CSV (${err.message}): check the quotes on that line, or put one identity per line without quotes.`,
      );
    }
    throw err;
  }
  return records.map((cells, i) => ({ cells, line: lines[i] ?? 0 }));
}

function findIdentityColumn(header: string[]): number | undefined {
  const names = header.map(normalizeHeader);
  for (const wanted of IDENTITY_KEYS) {
    const index = names.indexOf(wanted);
    if (index !== -1) return index;
  }
  return undefined;
}

/**
 * Reads identities from CSV content: the best identity column when the first row is a header
 * (UserPrincipalName, UPN, Email, SipAddress, ...), else the first cell of every row.
 * Throws invalid_input for binary, empty or malformed files.
 */
export function parseIdentityCsv(content: Buffer, fileName: string): CsvIdentities {
  const text = decodeText(content, fileName);
  const emptyError = new AppError("invalid_input", `The CSV file ${fileName} is empty: ${LIST_HINT}.`);
  if (text.trim() === "") throw emptyError;
  const records = readRecords(text, fileName);
  const first = records[0];
  if (first === undefined) throw emptyError;

  const columnIndex = findIdentityColumn(first.cells);
  const column = columnIndex === undefined ? null : (first.cells[columnIndex] ?? "");
  // A list written on one line ("a@contoso.com;b@contoso.com;…"), alone or under a one-column header.
  const [single, ...more] = columnIndex === undefined ? records : records.slice(1);
  const oneColumnHeader = columnIndex === undefined || first.cells.filter((c) => c !== "").length === 1;
  const oneLine = single !== undefined && more.length === 0 && oneColumnHeader ? oneLineList(single, fileName) : undefined;
  if (oneLine) return { ...collapse(oneLine), column, rows: 1, skipped: [] };
  if (columnIndex === undefined && isHeaderWithoutIdentities(records)) {
    const shown = first.cells.slice(0, 5).map((c) => `"${c}"`);
    if (first.cells.length > 5) shown.push("…");
    const names = `${IDENTITY_HEADERS.slice(0, -1).join(", ")} or ${IDENTITY_HEADERS.at(-1)}`;
    throw new AppError(
      "invalid_input",
      `${fileName} starts with a row that looks like a header (${shown.join(", ")}) but has no column of user identities: name the identity column ${names}; if ${shown[0]} is a user, put a header line such as UserPrincipalName above it.`,
    );
  }
  const data = columnIndex === undefined ? records : records.slice(1);
  const index = columnIndex ?? 0;
  const values: string[] = [];
  const skipped: { line: number; reason: string }[] = [];
  for (const { cells, line } of data) {
    const value = cells[index] ?? "";
    if (value === "") {
      skipped.push({ line, reason: column === null ? "the first cell is empty" : `the ${column} cell is empty` });
    } else if (column !== null && value.toLowerCase() === column.toLowerCase()) {
      // Files joined from several exports repeat the header; it is not a user.
      skipped.push({ line, reason: "it repeats the header row" });
    } else {
      values.push(value);
    }
  }

  if (values.length === 0) {
    if (column !== null) {
      throw new AppError("invalid_input", `${fileName} has a ${column} column but no users under it: add one user per row.`);
    }
    throw new AppError("invalid_input", `${fileName} has no identities in its first column: ${LIST_HINT}.`);
  }
  const { identities, duplicates } = collapse(values);
  return { identities, column, rows: data.length, duplicates, skipped };
}

/**
 * The values of a row that holds a whole list (several values, every one a UPN, email or SIP address
 * or object id), or undefined for one user's row. A row of many identities with other values among
 * them is refused rather than read as its first cell alone.
 */
function oneLineList(row: Row, fileName: string): string[] | undefined {
  const values = row.cells.filter((c) => c !== "");
  if (values.length < 2) return undefined;
  const others = values.filter((v) => !looksLikeAddress(v));
  if (others.length === 0) return values;
  const identities = values.length - others.length;
  if (identities < 3) return undefined;
  throw new AppError(
    "invalid_input",
    `${fileName} has ${values.length} values on line ${row.line}: ${identities} look like identities but ${others.length === 1 ? "1 does" : `${others.length} do`} not (such as "${others[0]}"). Put one identity per line, or a header such as UserPrincipalName and one user per row.`,
  );
}

/**
 * Whether a first row with no identity column is a header all the same: it names a column of a
 * directory export (DisplayName, Department…), or it is not an address while every row below starts
 * with one.
 */
function isHeaderWithoutIdentities(records: Row[]): boolean {
  const [first, ...data] = records;
  const head = first?.cells[0] ?? "";
  if (first === undefined || head === "" || looksLikeAddress(head)) return false;
  if (first.cells.some((c) => OTHER_HEADERS.has(normalizeHeader(c)))) return true;
  const starts = data.map((r) => r.cells[0] ?? "").filter((v) => v !== "");
  return starts.length > 0 && starts.every(looksLikeAddress);
}

function errnoOf(err: unknown): string | undefined {
  if (err instanceof Error && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}

/** Reads and parses a CSV file of identities (see parseIdentityCsv); unreadable paths throw invalid_input. */
export async function readIdentityCsvFile(filePath: string): Promise<CsvIdentities> {
  return parseIdentityCsv(await readCsvBytes(filePath), filePath);
}

/** Reads a CSV file's bytes; a missing, unreadable or directory path throws invalid_input naming it. */
export async function readCsvBytes(filePath: string): Promise<Buffer> {
  try {
    return await readFile(filePath);
  } catch (err) {
    const code = errnoOf(err);
    if (code === undefined || !(err instanceof Error)) throw err;
    const fallback = "or pass the users with --user-list.";
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new AppError("invalid_input", `File does not exist: ${filePath}. Check the path, ${fallback}`);
    }
    if (code === "EISDIR") {
      throw new AppError("invalid_input", `${filePath} is a directory, not a CSV file: give the path of the file itself, ${fallback}`);
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new AppError(
        "invalid_input",
        `Cannot read ${filePath}: permission denied (${code}). Check the file's permissions, ${fallback}`,
      );
    }
    throw new AppError("invalid_input", `Cannot read ${filePath}: ${err.message}. Check the path, ${fallback}`);
  }
}
