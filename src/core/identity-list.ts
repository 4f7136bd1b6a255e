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
  "userprincipalname",
  "upn",
  "identity",
  "sipaddress",
  "sip",
  "email",
  "emailaddress",
  "primarysmtpaddress",
  "mail",
  "alias",
  "user",
  "username",
] as const;

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

function decodeText(content: Buffer, fileName: string): string {
  const utf16 = content.length >= 2 && ((content[0] === 0xff && content[1] === 0xfe) || (content[0] === 0xfe && content[1] === 0xff));
  if (utf16) {
    // Excel's "Unicode Text" export is UTF-16; naming it beats calling it binary.
    throw new AppError(
      "invalid_input",
      `${fileName} is saved as UTF-16 text: save it again as "CSV UTF-8", or as plain CSV, and try again.`,
    );
  }
  // UTF-8 text never contains NUL, so one means a spreadsheet or other binary file.
  if (content.includes(0)) throw binaryError(fileName);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(content).replace(/^\uFEFF/, "");
  } catch {
    throw binaryError(fileName);
  }
}

function readRecords(text: string, fileName: string): { cells: string[]; line: number }[] {
  const lines: number[] = [];
  let records: string[][];
  try {
    // Mixed line endings confuse csv-parse's one-time delimiter detection, so unify them first.
    records = parse(text.replace(/\r\n?/g, "\n"), {
      // Excel in many locales writes ";" between columns; identities never contain ";" or tabs.
      delimiter: [",", ";", "\t"],
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
      on_record: (record: string[], context) => {
        lines.push(context.lines);
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
  for (const wanted of IDENTITY_HEADERS) {
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
