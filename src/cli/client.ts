import { randomBytes } from "node:crypto";
import os from "node:os";
import type { FastifyInstance } from "fastify";
import { AppError, exitCodeFor } from "../core/errors.ts";
import { buildServer } from "../http/server.ts";
import { isJobRunningHere, stopRunningJobs } from "../jobs/jobs.service.ts";
import { openRuntime, type Runtime } from "../runtime.ts";
import { terminalSafe } from "./terminal-safe.ts";

/** An error answer from the API, as the CLI shows it. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: { path?: string; message: string }[];
  constructor(status: number, code: string, message: string, details: { path?: string; message: string }[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  get exitCode(): number {
    return exitCodeFor(this.code);
  }
}

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

/**
 * The CLI only ever talks to the REST API: in-process on the embedded store (so it gives exactly
 * the answers the server would), or over HTTP to a running server with --server.
 */
export interface ApiClient {
  mode: "local" | "remote";
  raw(method: string, path: string, opts?: CallOptions): Promise<RawResponse>;
  call<T>(method: string, path: string, opts?: CallOptions): Promise<T>;
  /** Lets a job this process runs finish its batch and stay resumable, then closes the store. */
  interrupt(): Promise<string[]>;
  /** True while this process itself runs the job (the embedded store); a job of another process can only be followed. */
  runsJob(jobId: string): boolean;
  close(): Promise<void>;
}

export interface ClientOptions {
  server?: string;
  dataDir?: string;
  databaseUrl?: string;
  tenant?: string;
  outboxDir?: string;
  /** An API token for --server (or CALLPLANE_TOKEN). */
  token?: string;
  /** Sign in to --server as this account instead (password from CALLPLANE_PASSWORD, or asked on the terminal). */
  username?: string;
  command: string;
}

function withQuery(path: string, query?: CallOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function parse<T>(res: RawResponse): T {
  let body: unknown;
  try {
    body = res.text ? JSON.parse(res.text) : null;
  } catch {
    if (res.status >= 400) throw new ApiError(res.status, "internal", `The server answered ${res.status}: ${res.text.slice(0, 200)}`);
    return res.text as T;
  }
  if (res.status >= 400) {
    const err = (body as { error?: { code?: string; message?: string; details?: { path?: string; message: string }[] } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? "internal", err?.message ?? `The server answered ${res.status}.`, err?.details ?? []);
  }
  return body as T;
}

export function localActor(): string {
  let name = "unknown";
  try {
    name = os.userInfo().username;
  } catch {
    name = process.env.USER ?? "unknown";
  }
  return `local:${name}`;
}

/** Asks for a password on the terminal without echoing it. */
export async function askPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new ApiError(401, "unauthenticated", "No password: set CALLPLANE_PASSWORD, or run the command on a terminal to be asked.");
  }
  const readline = await import("node:readline");
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write(terminalSafe(prompt));
  // Nothing typed is echoed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  process.stderr.write("\n");
  return answer;
}

/** Signs in to a server with an account's password: the session cookie and CSRF header for the command's requests. */
async function signInRemote(base: string, username: string): Promise<Record<string, string>> {
  const password = process.env.CALLPLANE_PASSWORD ?? (await askPassword(`Password for ${username}: `));
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch (err) {
    throw new ApiError(503, "unavailable", `Cannot reach the Callplane server at ${base}: ${(err as Error).message}. Is it running?`);
  }
  const answer = parse<{ csrfToken: string }>({ status: res.status, contentType: "", text: await res.text() });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return { cookie, "x-csrf-token": answer.csrfToken };
}

export async function connect(opts: ClientOptions): Promise<ApiClient> {
  const headers: Record<string, string> = {};
  if (opts.tenant) headers["x-callplane-tenant"] = opts.tenant;
  if (opts.server) {
    const base = opts.server.replace(/\/+$/, "");
    if (opts.token) headers.authorization = `Bearer ${opts.token.trim()}`;
    else if (opts.username) Object.assign(headers, await signInRemote(base, opts.username));
    const raw = async (method: string, path: string, o: CallOptions = {}): Promise<RawResponse> => {
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1${withQuery(path, o.query)}`, {
          method,
          headers: o.body !== undefined ? { ...headers, "content-type": "application/json" } : headers,
          body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
        });
      } catch (err) {
        throw new ApiError(503, "unavailable", `Cannot reach the Callplane server at ${base}: ${(err as Error).message}. Is it running?`);
      }
      return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() };
    };
    return {
      mode: "remote",
      raw,
      call: async <T>(method: string, path: string, o?: CallOptions) => parse<T>(await raw(method, path, o)),
      interrupt: async () => [],
      runsJob: () => false,
      close: async () => {
        // A session the command opened ends with it.
        if (headers.cookie) await fetch(`${base}/api/v1/auth/sign-out`, { method: "POST", headers }).catch(() => undefined);
      },
    };
  }
  let runtime: Runtime;
  try {
    runtime = await openRuntime({
      databaseUrl: opts.databaseUrl,
      dataDir: opts.dataDir,
      holder: `the command \`callplane ${opts.command}\``,
      outboxDir: opts.outboxDir,
    });
  } catch (err) {
    if (err instanceof AppError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
  // On the store itself the CLI is the local operator: a key only this process knows, for a server
  // that never listens, so the mode cannot be had over the network.
  const localOperator = { name: localActor(), key: randomBytes(32).toString("hex") };
  headers["x-callplane-local"] = localOperator.key;
  let app: FastifyInstance;
  try {
    app = await buildServer(runtime, { localOperator });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const raw = async (method: string, path: string, o: CallOptions = {}): Promise<RawResponse> => {
    const res = await app.inject({
      method: method as "GET",
      url: `/api/v1${withQuery(path, o.query)}`,
      headers: o.body !== undefined ? { ...headers, "content-type": "application/json" } : headers,
      payload: o.body !== undefined ? JSON.stringify(o.body) : undefined,
    });
    return { status: res.statusCode, contentType: String(res.headers["content-type"] ?? ""), text: res.body };
  };
  let closed = false;
  return {
    mode: "local",
    raw,
    call: async <T>(method: string, path: string, o?: CallOptions) => parse<T>(await raw(method, path, o)),
    interrupt: () => stopRunningJobs(),
    runsJob: (jobId) => isJobRunningHere(jobId),
    close: async () => {
      if (closed) return;
      closed = true;
      await stopRunningJobs();
      await app.close();
      await runtime.close();
    },
  };
}
