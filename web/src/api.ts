// The admin center's only way to the server: typed calls to the REST API under /api/v1, and the
// signed-in session. Types come from the server's own zod schemas (import type only: no rule is
// copied into the browser; the server decides, the web only shows).
import { useSyncExternalStore } from "react";
import type { z } from "zod";
import type { principalView } from "../../src/auth/auth.routes.ts";

export type Principal = z.infer<typeof principalView>;
export type Permission = Principal["permissions"][number];

export interface ErrorDetail {
  path?: string;
  message: string;
}

/** An error answer of the API: `{"error": {"code", "message", "details"}}` and its HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The message of a field (details path like `body.serviceNumber`, or just `serviceNumber`). */
  fieldMessage(field: string): string | undefined {
    return this.details.find((d) => d.path === field || d.path === `body.${field}` || d.path?.endsWith(`.${field}`))?.message;
  }
}

// --- the session -------------------------------------------------------------------------------

export type SessionStatus = "loading" | "signed-out" | "must-change-password" | "signed-in";

export interface SessionState {
  status: SessionStatus;
  principal: Principal | null;
  /** Why the user is on the sign-in page (e.g. the session ended), shown there. */
  notice: string | null;
}

interface SessionAnswer {
  principal: Principal;
  csrfToken: string | null;
  mustChangePassword: boolean;
}

let state: SessionState = { status: "loading", principal: null, notice: null };
let csrfToken: string | null = null;
const listeners = new Set<() => void>();

function setState(next: SessionState): void {
  state = next;
  for (const l of listeners) l();
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

function adopt(a: SessionAnswer): void {
  csrfToken = a.csrfToken;
  setState({ status: a.mustChangePassword ? "must-change-password" : "signed-in", principal: a.principal, notice: null });
}

/** Asks the server who is signed in (on start, and after the password change). */
export async function loadSession(): Promise<void> {
  try {
    adopt(await request<SessionAnswer>("GET", "/auth/session", undefined, { quiet: true }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setState({ status: "signed-out", principal: null, notice: null });
      return;
    }
    if (e instanceof ApiError && e.code === "password_change_required") return;
    setState({ status: "signed-out", principal: null, notice: e instanceof Error ? e.message : "The server could not be reached." });
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  adopt(await request<SessionAnswer>("POST", "/auth/sign-in", { username, password }, { quiet: true }));
}

export async function signOut(): Promise<void> {
  try {
    await request<void>("POST", "/auth/sign-out", undefined, { quiet: true });
  } finally {
    csrfToken = null;
    setState({ status: "signed-out", principal: null, notice: "You are signed out." });
  }
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await request<void>("POST", "/auth/password", { currentPassword, newPassword }, { quiet: true });
  await loadSession();
}

export interface Session {
  status: SessionStatus;
  principal: Principal | null;
  notice: string | null;
  /** Whether the signed-in role holds a permission: a convenience for showing actions; the server decides. */
  can: (permission: Permission) => boolean;
}

function snapshot(): SessionState {
  return state;
}

export function useSession(): Session {
  const s = useSyncExternalStore(subscribe, snapshot, snapshot);
  return { ...s, can: (p) => s.principal?.permissions.includes(p) ?? false };
}

// --- the tenant ------------------------------------------------------------------------------------

const TENANT_KEY = "callplane.tenant";
let tenant: string | null = null;
try {
  tenant = window.localStorage.getItem(TENANT_KEY);
} catch {
  tenant = null;
}

/** The tenant the pages work on (sent as X-Callplane-Tenant), or null for the server's only tenant. */
export function currentTenant(): string | null {
  return tenant;
}

/** Works on another tenant from now on (kept in this browser). */
export function setTenant(id: string | null): void {
  tenant = id;
  try {
    if (id) window.localStorage.setItem(TENANT_KEY, id);
    else window.localStorage.removeItem(TENANT_KEY);
  } catch {
    // Storage may be disabled; the choice then lasts until the page is reloaded.
  }
}

// --- requests ----------------------------------------------------------------------------------

export type Query = Record<string, string | number | boolean | null | undefined>;

function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return `/api/v1${path}${s ? `?${s}` : ""}`;
}

async function request<T>(method: string, path: string, body?: unknown, opts: { query?: Query; quiet?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  if (tenant && !path.startsWith("/auth/")) headers["x-callplane-tenant"] = tenant;
  const res = await fetch(url(path, opts.query), {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const env = (json as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | undefined)?.error;
    const err = new ApiError(
      res.status,
      env?.code ?? `http_${res.status}`,
      env?.message ?? `The server answered ${res.status} ${res.statusText}.`,
      env?.details ?? [],
    );
    if (!opts.quiet && res.status === 401) {
      // The session ended (expired, signed out elsewhere): back to the sign-in page, then here again.
      csrfToken = null;
      setState({ status: "signed-out", principal: null, notice: "Your session has ended: sign in again." });
    }
    if (err.code === "password_change_required") setState({ ...state, status: "must-change-password" });
    throw err;
  }
  return json as T;
}

/** GET /api/v1{path}?{query}. */
export function apiGet<T>(path: string, query?: Query): Promise<T> {
  return request<T>("GET", path, undefined, { query });
}

/** A change: POST, PUT, PATCH or DELETE with a JSON body and the session's CSRF token. */
export function apiSend<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  return request<T>(method, path, body);
}

/** The URL of a download (a GET the browser follows itself, with the session cookie). */
export function apiUrl(path: string, query?: Query): string {
  return url(path, query);
}

/** Encodes an identity, number or name for a path segment. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
