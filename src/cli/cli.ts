import { type Command, InvalidArgumentError } from "commander";
import { AppError } from "../core/errors.ts";
import { type ApiClient, ApiError, connect } from "./client.ts";
import { terminalSafe, terminalSafeValue } from "./terminal-safe.ts";

/** Options every command takes (set on the root program, accepted anywhere on the line). */
export interface GlobalOptions {
  json?: boolean;
  data?: string;
  server?: string;
  tenant?: string;
  outbox?: string;
  token?: string;
  username?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

export interface Printed<T> {
  /** Human-readable output; JSON output is the API's answer as it is. */
  human: (result: T) => string;
  /** Exit code for a successful call (bulk commands return 1 when some users failed). */
  exitCode?: (result: T) => number;
  /** What --json prints, when not the result itself. */
  json?: (result: T) => unknown;
  /**
   * Whether the human output is data (a CSV export) rather than a message: written exactly when
   * standard output is a file or a pipe, and made terminal-safe only on a terminal.
   */
  data?: (result: T) => boolean;
}

export function printError(err: unknown, json: boolean): number {
  if (err instanceof ApiError || err instanceof AppError) {
    const code = err.code;
    const exit = err instanceof ApiError ? err.exitCode : err.exitCode;
    if (json) {
      process.stdout.write(`${JSON.stringify({ error: { code, message: err.message, details: err.details } }, null, 2)}\n`);
    } else {
      process.stderr.write(`error: ${terminalSafe(err.message)}\n`);
      // A detail that only repeats the message (naming the field for a form) adds nothing here.
      const extra = err.details.filter((d) => d.path !== "provider" && d.message !== err.message);
      for (const d of extra.slice(0, 20)) process.stderr.write(terminalSafe(`  ${d.path ? `${d.path}: ` : ""}${d.message}\n`));
    }
    return exit;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: "internal", message, details: [] } }, null, 2)}\n`);
  else process.stderr.write(`error: ${terminalSafe(message)}\n`);
  return 3;
}

/** Ctrl-C and SIGTERM received while a command runs: a job being followed stops being followed on the first. */
let signals = 0;

/** How many times the running command was interrupted (Ctrl-C, SIGTERM). */
export function interruptions(): number {
  return signals;
}

/** Connects to the API (embedded store in-process, or --server), runs the action, prints, and exits. */
export async function run<T>(cmd: Command, action: (api: ApiClient, g: GlobalOptions) => Promise<T>, printed: Printed<T>): Promise<void> {
  const g = globals(cmd);
  let api: ApiClient | undefined;
  let code = 0;
  try {
    api = await connect({
      server: g.server ?? process.env.CALLPLANE_SERVER,
      dataDir: g.data ?? process.env.CALLPLANE_DATA ?? ".callplane",
      databaseUrl: process.env.DATABASE_URL,
      tenant: g.tenant ?? process.env.CALLPLANE_TENANT,
      outboxDir: g.outbox ?? process.env.CALLPLANE_OUTBOX,
      token: g.token ?? process.env.CALLPLANE_TOKEN,
      username: g.username ?? process.env.CALLPLANE_USERNAME,
      command: commandPath(cmd),
    });
    const client = api;
    const onSignal = () => {
      signals++;
      if (signals > 1) return;
      process.stderr.write("\nInterrupted: finishing the batch in hand so the job stays resumable…\n");
      void client.interrupt();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const result = await action(api, g);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (g.json) process.stdout.write(`${JSON.stringify(printed.json ? printed.json(result) : result, null, 2)}\n`);
    else {
      // User data (names, identities, CSV headers) reaches this text: it must not drive the terminal.
      const human = printed.human(result);
      const text = printed.data?.(result) && !process.stdout.isTTY ? human : terminalSafe(human);
      if (text) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    }
    code = printed.exitCode ? printed.exitCode(result) : 0;
  } catch (err) {
    code = printError(err, g.json === true);
  } finally {
    await api?.close();
  }
  process.exitCode = code;
}

/** A table with a header row; columns sized to their content. */
export function table(rows: Record<string, unknown>[], columns: [key: string, title: string][]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => columns.map(([k]) => fmt(r[k])));
  const widths = columns.map(([, t], i) => Math.max(t.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns.map(([, t]) => t)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Key: value lines. */
export function kv(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(width)}  ${fmt(obj[k])}`).join("\n");
}

/** A value as one cell: escaped here, before the columns are sized, so a line feed cannot fake a row. */
function fmt(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (Array.isArray(v)) return v.length ? v.map(fmt).join(", ") : "-";
  // JSON.stringify escapes C0 controls but not DEL, C1 controls or bidi overrides.
  return terminalSafeValue(typeof v === "object" ? JSON.stringify(v) : String(v));
}

/** Parses a true/false option value. */
export function bool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "yes", "1", "on", "$true"].includes(v)) return true;
  if (["false", "no", "0", "off", "$false"].includes(v)) return false;
  throw new InvalidArgumentError(`"${value}" is not true or false.`);
}

/** Parses a whole-number option value. */
export function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  return n;
}

/** Parses a comma-separated option value. */
export function list(value: string): string[] {
  return value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}
