/**
 * Kamailio's RPC from Callplane: JSON-RPC 2.0 over HTTP (xhttp + jsonrpcs, POST /RPC), as the
 * generated kamailio.cfg serves it. One transport only: reloads sent at the same moment through
 * two RPC transports have crashed Kamailio (design note §2.2), and within this process reloads to
 * one proxy run one after the other (`exclusive`).
 *
 * Every failure is an AppError("unavailable") naming the proxy's address: refused connection
 * (Kamailio is down), timeout, an oversized or non-JSON answer, or the RPC's own error.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { AppError } from "../../core/errors.ts";

export interface KamailioRpcOptions {
  /** Per request, in ms (default 30 s: a reload of 100k users from db_text takes ~16 s). */
  timeoutMs?: number;
  /** Largest answer accepted, in bytes (default 16 MB). */
  maxResponseBytes?: number;
  /** Called when a request is sent and when it has ended (for tracing and tests). */
  onRequest?: (event: { method: string; phase: "start" | "end"; at: number }) => void;
}

/** An RPC that failed: Kamailio unreachable or misbehaving, or the method's own error (`rpcCode`). */
export class KamailioRpcError extends AppError {
  readonly address: string;
  readonly method: string;
  /** The JSON-RPC error code Kamailio answered (e.g. 500 "ongoing reload"), when it answered one. */
  readonly rpcCode: number | undefined;

  constructor(address: string, method: string, message: string, rpcCode?: number) {
    super("unavailable", message);
    this.name = "KamailioRpcError";
    this.address = address;
    this.method = method;
    this.rpcCode = rpcCode;
  }
}

/** One rule as `dialplan.dump` shows it. */
export interface DialplanDumpEntry {
  pr: number;
  matchOp: number;
  matchExp: string;
  matchLen: number;
  substExp: string;
  replExp: string;
  attrs: string;
}

export interface Uptime {
  /** Seconds since Kamailio started. */
  uptime: number;
  now: string;
  upSince: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// One chain per proxy address, for the whole process: two clients of the same proxy share it.
const chains = new Map<string, Promise<unknown>>();
// The addresses whose turn the current async context holds, so a reload inside `exclusive` runs at once.
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** "host:port" (lower case) of a proxy given as host:port or as its http://host:port/RPC URL. */
export function proxyKey(address: string): string {
  return address
    .trim()
    .replace(/^https?:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
}

/**
 * Runs `fn` when no other `exclusive` call for the proxy at `address` (host:port or URL) is running in
 * this process, in call order. Reentrant: a call made from inside `fn` for the same proxy runs within
 * the turn, so a publish can hold it across its writes and reloads.
 */
export async function exclusive<T>(address: string, fn: () => Promise<T>): Promise<T> {
  address = proxyKey(address);
  const mine = held.getStore();
  if (mine?.has(address)) return fn();
  const previous = chains.get(address) ?? Promise.resolve();
  const run = previous.then(
    () => held.run(new Set([...(mine ?? []), address]), fn),
    () => held.run(new Set([...(mine ?? []), address]), fn),
  );
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(address, settled);
  void settled.then(() => {
    if (chains.get(address) === settled) chains.delete(address);
  });
  return run;
}

/** A JSON-RPC client for one Kamailio, e.g. `new KamailioRpc("127.0.0.1:5080")` (or its http://…/RPC URL). */
export class KamailioRpc {
  /** `host:port`, lower case: the key of the per-proxy turn. */
  readonly address: string;
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly onRequest: KamailioRpcOptions["onRequest"];
  private nextId = 1;

  constructor(address: string, options: KamailioRpcOptions = {}) {
    const key = proxyKey(address);
    if (!/^([a-z0-9.-]+|\[[0-9a-f:.]+\]):\d{1,5}$/.test(key))
      throw new Error(`A Kamailio RPC address is host:port, e.g. 127.0.0.1:5080, not "${address}".`);
    this.address = key;
    // The script serves JSON-RPC on /RPC only.
    this.url = `http://${key}/RPC`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
    this.onRequest = options.onRequest;
  }

  /** Calls `method` with `params` and returns its `result`; throws KamailioRpcError on any failure. */
  async call(method: string, params: Json[] = [], options: { maxResponseBytes?: number } = {}): Promise<Json> {
    const id = this.nextId++;
    const where = `Kamailio RPC ${method} at ${this.url}`;
    const fail = (message: string, rpcCode?: number) => new KamailioRpcError(this.address, method, `${where}: ${message}`, rpcCode);
    this.onRequest?.({ method, phase: "start", at: performance.now() });
    try {
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: "POST",
          // A fresh connection per request: a pooled one would be dead after a Kamailio restart.
          headers: { "content-type": "application/json", connection: "close" },
          body: JSON.stringify({ jsonrpc: "2.0", method, params, id }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        throw fail(describeFetchError(e, this.timeoutMs));
      }
      const text = await readBounded(response, options.maxResponseBytes ?? this.maxResponseBytes).catch((e: unknown) => {
        const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
        throw fail(timedOut ? `no complete answer within ${this.timeoutMs} ms` : e instanceof Error ? e.message : String(e));
      });
      let body: Json;
      try {
        body = JSON.parse(text) as Json;
      } catch {
        throw fail(`the answer is not JSON (HTTP ${response.status}): ${preview(text)}`);
      }
      if (!isObject(body) || body.jsonrpc !== "2.0" || !("result" in body || "error" in body))
        throw fail(`the answer is not a JSON-RPC 2.0 response (HTTP ${response.status}): ${preview(text)}`);
      const error = body.error;
      if (error !== undefined) {
        const code = isObject(error) && typeof error.code === "number" ? error.code : undefined;
        const message = isObject(error) && typeof error.message === "string" ? error.message : JSON.stringify(error);
        throw fail(`error ${code ?? "?"}: ${message}`, code);
      }
      return body.result ?? null;
    } finally {
      this.onRequest?.({ method, phase: "end", at: performance.now() });
    }
  }

  /** dialplan.reload: every rule of both slots, swapped atomically. Serialized per proxy. */
  async reloadDialplan(): Promise<void> {
    await exclusive(this.address, () => this.call("dialplan.reload"));
  }

  /** htable.reload of one table from its db_text file. Serialized per proxy. */
  async reloadHtable(name: string): Promise<void> {
    const result = await exclusive(this.address, () => this.call("htable.reload", [name]));
    if (typeof result === "string" && !/^ok/i.test(result))
      throw new KamailioRpcError(this.address, "htable.reload", `Kamailio RPC htable.reload ${name} at ${this.url}: ${result}`);
  }

  /** One htable value (a string, or a number for integer values), or null when the key is not there. */
  async htableGet(table: string, key: string): Promise<string | number | null> {
    try {
      const result = await this.call("htable.get", [table, key]);
      const item = isObject(result) ? result.item : undefined;
      const value = isObject(item) ? item.value : undefined;
      if (typeof value === "string" || typeof value === "number") return value;
      throw new KamailioRpcError(
        this.address,
        "htable.get",
        `Kamailio RPC htable.get at ${this.url}: unexpected answer ${preview(JSON.stringify(result))}`,
      );
    } catch (e) {
      // Kamailio answers a missing key with an error, not a null.
      if (e instanceof KamailioRpcError && e.rpcCode !== undefined && /doesn't exist|not found|no such/i.test(e.message)) return null;
      throw e;
    }
  }

  /**
   * Every entry of an htable, as a Map. Bounded by `maxResponseBytes` (default 4 MB): for a table of
   * users, check a count and sampled keys instead.
   */
  async htableDump(table: string, options: { maxResponseBytes?: number } = {}): Promise<Map<string, string | number>> {
    const result = await this.call("htable.dump", [table], { maxResponseBytes: options.maxResponseBytes ?? 4 * 1024 * 1024 });
    const entries = new Map<string, string | number>();
    if (!Array.isArray(result))
      throw new KamailioRpcError(this.address, "htable.dump", `Kamailio RPC htable.dump at ${this.url}: unexpected answer`);
    for (const bucket of result) {
      const slot = isObject(bucket) ? bucket.slot : undefined;
      if (!Array.isArray(slot)) continue;
      for (const cell of slot) {
        if (isObject(cell) && typeof cell.name === "string" && (typeof cell.value === "string" || typeof cell.value === "number"))
          entries.set(cell.name, cell.value);
      }
    }
    return entries;
  }

  /** The rules Kamailio holds for one dpid, in priority order; [] when it has none. */
  async dialplanDump(dpid: number): Promise<DialplanDumpEntry[]> {
    let result: Json;
    try {
      result = await this.call("dialplan.dump", [dpid]);
    } catch (e) {
      if (e instanceof KamailioRpcError && e.rpcCode !== undefined && /not matched|no such|not found/i.test(e.message)) return [];
      throw e;
    }
    const list = isObject(result) ? result.ENTRIES : undefined;
    if (!Array.isArray(list)) return [];
    return list.flatMap((e) => {
      const entry = isObject(e) ? e.ENTRY : undefined;
      if (!isObject(entry)) return [];
      const str = (k: string) => {
        const v = entry[k];
        return typeof v === "string" ? v : "";
      };
      const num = (k: string) => {
        const v = entry[k];
        return typeof v === "number" ? v : Number.NaN;
      };
      return [
        {
          pr: num("PRIO"),
          matchOp: num("MATCHOP"),
          matchExp: str("MATCHEXP"),
          matchLen: num("MATCHLEN"),
          substExp: str("SUBSTEXP"),
          replExp: str("REPLEXP"),
          attrs: str("ATTRS"),
        },
      ];
    });
  }

  /** core.uptime: answers as soon as Kamailio serves RPC (the readiness signal). */
  async uptime(): Promise<Uptime> {
    const result = await this.call("core.uptime");
    if (!isObject(result) || typeof result.uptime !== "number")
      throw new KamailioRpcError(
        this.address,
        "core.uptime",
        `Kamailio RPC core.uptime at ${this.url}: unexpected answer ${preview(JSON.stringify(result))}`,
      );
    return { uptime: result.uptime, now: String(result.now ?? ""), upSince: String(result.up_since ?? "") };
  }
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (code === "ECONNREFUSED") return "connection refused (is Kamailio running?)";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "the connection was closed before an answer";
  const detail = typeof cause?.message === "string" ? cause.message : e instanceof Error ? e.message : String(e);
  return `request failed: ${code ? `${code} ` : ""}${detail}`;
}

/** The body as text, refusing more than `max` bytes without reading them. */
async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new Error(`the answer is ${declared} bytes, more than the ${max} accepted`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the answer is more than the ${max} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function preview(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine || "(empty)";
}
