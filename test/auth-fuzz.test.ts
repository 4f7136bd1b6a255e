// Thousands of bad requests, generated from the server's own OpenAPI document (every route, every
// body and query field): wrong types, unknown fields, broken JSON, odd encodings and content types,
// bodies over the limit, SQL and script fragments in every string field and path parameter. Each must
// get a clear 4xx (read-only routes may answer 2xx to odd but valid input), never a 5xx, and the store
// must be exactly as it was.
import { sql } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiToken } from "../src/auth/auth.service.ts";
import { routePermissions } from "../src/auth/permissions.ts";
import { buildDemoTenant } from "../src/demo/demo.service.ts";
import { buildServer } from "../src/http/server.ts";
import { rows } from "../src/store/db.ts";
import { lowerPasswordCostForTests } from "./support/auth.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

// Sign-in probes check their passwords against a decoy hash: the cost of scrypt is not what this file tests.
lowerPasswordCostForTests();

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

interface Operation {
  method: string;
  path: string;
  key: string;
  params: string[];
  query: { name: string; schema: Schema }[];
  body?: Schema;
}

const fragments = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "Robert'); DELETE FROM audit_events; --",
  "1; SELECT pg_sleep(5)",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "../../../../etc/passwd",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  "${7*7}{{7*7}}",
  "$(rm -rf /)",
  "\u0000nul",
  "\u202Eevil\u202C",
  "😀".repeat(40),
  "%27%20OR%201%3D1",
  "a".repeat(5000),
];

let rt: TestRuntime;
let app: FastifyInstance;
let token: string;
let operations: Operation[];

/** Row counts and a hash of every table's content; the sign-in slow-down's own table is left out (failed sign-ins count there). */
async function fingerprint(): Promise<Record<string, string>> {
  const tables = await rows<{ table_name: string }>(
    rt.store.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  const out: Record<string, string> = {};
  for (const { table_name: t } of tables) {
    if (t === "sign_in_failures") continue;
    // A token's last use is bookkeeping, not a change anyone made.
    const source =
      t === "api_tokens" ? sql.raw("(select id, name, role, secret_hash, revoked_at, expires_at from api_tokens)") : sql.raw(`"${t}"`);
    const [r] = await rows<{ n: string | number; h: string | null }>(
      rt.store.db,
      sql`select count(*) as n, md5(coalesce(string_agg(md5(x::text), '' order by md5(x::text)), '')) as h from ${source} x`,
    );
    out[t] = `${r?.n}:${r?.h}`;
  }
  return out;
}

function operationsOf(doc: { paths: Record<string, Record<string, Json>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [m, raw] of Object.entries(methods)) {
      const op = raw as Schema;
      const parameters = (op.parameters ?? []) as Schema[];
      const body = ((((op.requestBody as Schema | undefined)?.content as Schema | undefined)?.["application/json"] as Schema | undefined)
        ?.schema ?? undefined) as Schema | undefined;
      ops.push({
        method: m.toUpperCase(),
        path: p,
        key: `${m.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ":$1")}`,
        params: parameters.filter((x) => x.in === "path").map((x) => String(x.name)),
        query: parameters.filter((x) => x.in === "query").map((x) => ({ name: String(x.name), schema: x.schema as Schema })),
        body,
      });
    }
  }
  return ops;
}

/** The JSON types a schema accepts ("any" when it does not say). */
function typesOf(s: Schema | undefined): Set<string> {
  if (!s) return new Set(["any"]);
  const out = new Set<string>();
  if (s.nullable === true) out.add("null");
  const t = s.type;
  if (typeof t === "string") out.add(t === "integer" ? "number" : t);
  if (Array.isArray(s.enum)) for (const v of s.enum) out.add(v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    if (Array.isArray(s[k])) for (const sub of s[k] as Schema[]) for (const x of typesOf(sub)) out.add(x);
  }
  if (out.size === 0 || (out.size === 1 && out.has("null"))) out.add("any");
  return out;
}

function jsonType(v: Json): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

const wrongValues: Json[] = [12345, "not-the-type", true, { nested: { deeper: ["x"] } }, ["x", 1], null, -1.5e308];

/** A value the schema accepts where it can (enum, type), for the fields that must be there. */
function sample(s: Schema | undefined): Json {
  if (!s) return "x";
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0] as Json;
  const t = [...typesOf(s)].find((x) => x !== "null");
  if (t === "number") return typeof s.minimum === "number" && s.minimum > 0 ? s.minimum : 1;
  if (t === "boolean") return false;
  if (t === "array") return [];
  if (t === "object") return sampleObject(s);
  return "sample";
}

function sampleObject(s: Schema): { [k: string]: Json } {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const required = (s.required ?? []) as string[];
  return Object.fromEntries(required.map((k) => [k, sample(props[k])]));
}

/** Every string in a value replaced by `text`, recursively (to reach nested fields). */
function withStrings(s: Schema, text: string): { [k: string]: Json } {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const out: { [k: string]: Json } = {};
  for (const [k, p] of Object.entries(props)) {
    const types = typesOf(p);
    if (types.has("string") || types.has("any")) out[k] = text;
    else if (types.has("array")) out[k] = [text];
  }
  return out;
}

interface Probe {
  what: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
  /** The request is malformed: the answer must be a 4xx. Otherwise (read-only routes) any non-5xx answer. */
  malformed: boolean;
}

function concretePath(op: Operation, override?: { param: string; value: string }): string {
  let url = op.path;
  for (const p of op.params) {
    const value = override?.param === p ? override.value : `fuzz-nobody-${p}`;
    url = url.replace(`{${p}}`, encodeURIComponent(value));
  }
  return url;
}

function probesOf(op: Operation): Probe[] {
  const out: Probe[] = [];
  const readOnly = (routePermissions[op.key] ?? "").endsWith(".read");
  const base = concretePath(op);
  const json = { "content-type": "application/json" };
  const bodyFor = (o: unknown) => JSON.stringify(o);
  const hasBody = op.body !== undefined;
  const baseBody = hasBody && op.body ? (typesOf(op.body).has("object") ? sampleObject(op.body) : sample(op.body)) : {};

  // Path parameters: every fragment in every one; nothing by those names exists, so writes find nothing.
  for (const param of op.params) {
    for (const f of fragments) {
      out.push({
        what: `path ${param} = ${JSON.stringify(f.slice(0, 30))}`,
        method: op.method,
        url: concretePath(op, { param, value: f }),
        headers: hasBody ? json : undefined,
        payload: hasBody ? bodyFor(baseBody) : undefined,
        malformed: !readOnly && op.method !== "GET",
      });
    }
  }

  // Query: unknown parameters, wrong types, fragments in every string parameter.
  if (op.query.length > 0) {
    out.push({ what: "unknown query parameter", method: op.method, url: `${base}?fuzzUnknown=1`, malformed: true });
    for (const q of op.query) {
      const types = typesOf(q.schema);
      if (Array.isArray(q.schema.enum) || types.has("number") || types.has("integer")) {
        for (const bad of ["maybe", "-1.5e999", "1e3x", "[]"]) {
          if (Array.isArray(q.schema.enum) && (q.schema.enum as Json[]).includes(bad)) continue;
          out.push({
            what: `query ${q.name} = ${bad}`,
            method: op.method,
            url: `${base}?${q.name}=${encodeURIComponent(bad)}`,
            malformed: true,
          });
        }
      }
      if (types.has("string") && !Array.isArray(q.schema.enum)) {
        for (const f of fragments) {
          // zod counts characters (code points), not UTF-16 units.
          const long = typeof q.schema.maxLength === "number" && [...f].length > q.schema.maxLength;
          out.push({
            what: `query ${q.name} = ${JSON.stringify(f.slice(0, 30))}`,
            method: op.method,
            url: `${base}?${q.name}=${encodeURIComponent(f)}`,
            malformed: long || !readOnly,
          });
        }
      }
    }
  }

  if (op.method === "GET" || op.method === "HEAD") return out;

  // Bodies: broken JSON, odd encodings and content types, too large, not an object, prototype keys.
  const broken = ["{", '{"a":', '{"a":1,}', "[1,2", "nul", "{'a':1}", '{"a":"\\x"}', "\uFEFF{", '{"a":1}}', "}{"];
  for (const b of broken)
    out.push({ what: `broken JSON ${JSON.stringify(b)}`, method: op.method, url: base, headers: json, payload: b, malformed: true });
  out.push({
    what: "text/plain",
    method: op.method,
    url: base,
    headers: { "content-type": "text/plain" },
    payload: "hello",
    malformed: true,
  });
  out.push({
    what: "form encoded",
    method: op.method,
    url: base,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: "a=1&b=2",
    malformed: true,
  });
  out.push({
    what: "XML",
    method: op.method,
    url: base,
    headers: { "content-type": "application/xml" },
    payload: "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
    malformed: true,
  });
  out.push({
    what: "UTF-16 JSON",
    method: op.method,
    url: base,
    headers: { "content-type": "application/json; charset=utf-16le" },
    payload: Buffer.from(`{"fuzz":"${"\u00e9"}"}`, "utf16le"),
    malformed: true,
  });
  out.push({
    what: "invalid UTF-8",
    method: op.method,
    url: base,
    headers: json,
    payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
    malformed: true,
  });
  out.push({
    what: "over the body limit",
    method: op.method,
    url: base,
    headers: json,
    payload: JSON.stringify({ fuzz: "x".repeat(op.key.endsWith("/move-to-microsoft") ? 100 : 1024 * 1024 + 100) }),
    // The bulk move's limit is 64 MiB: what is sent to it is small but has an unknown field.
    malformed: true,
  });
  out.push({
    what: "prototype key",
    method: op.method,
    url: base,
    headers: json,
    payload: '{"__proto__":{"isAdmin":true}}',
    malformed: true,
  });
  out.push({
    what: "constructor key",
    method: op.method,
    url: base,
    headers: json,
    payload: '{"constructor":{"prototype":{"x":1}}}',
    malformed: true,
  });
  out.push({
    what: "deep nesting",
    method: op.method,
    url: base,
    headers: json,
    payload: `${"[".repeat(5000)}${"]".repeat(5000)}`,
    malformed: hasBody,
  });
  if (!hasBody || !op.body) return out;

  const nullable = op.body.nullable === true;
  for (const v of ["a string", 42, true, [], ...(nullable ? [] : [null])] as Json[]) {
    out.push({ what: `body ${JSON.stringify(v)}`, method: op.method, url: base, headers: json, payload: bodyFor(v), malformed: true });
  }
  out.push({
    what: "unknown field",
    method: op.method,
    url: base,
    headers: json,
    payload: bodyFor({ ...(baseBody as object), fuzzUnknown: "<script>alert(1)</script>" }),
    malformed: true,
  });
  const props = (op.body.properties ?? {}) as Record<string, Schema>;
  for (const [k, p] of Object.entries(props)) {
    const accepted = typesOf(p);
    if (accepted.has("any")) continue;
    for (const wrong of wrongValues) {
      const t = jsonType(wrong);
      if (accepted.has(t) || (t === "number" && accepted.has("integer"))) continue;
      out.push({
        what: `${k} = ${JSON.stringify(wrong)}`,
        method: op.method,
        url: base,
        headers: json,
        payload: bodyFor({ ...(baseBody as object), [k]: wrong }),
        malformed: true,
      });
    }
  }
  // Fragments in every string field: writes either find nothing (a path that names no one) or are
  // also given an unknown field, so nothing can be created.
  for (const f of fragments) {
    const strings = withStrings(op.body, f);
    const safe = op.params.length > 0 || readOnly ? strings : { ...strings, fuzzUnknown: true };
    out.push({
      what: `every string field = ${JSON.stringify(f.slice(0, 30))}`,
      method: op.method,
      url: base,
      headers: json,
      payload: bodyFor({ ...(baseBody as object), ...safe }),
      malformed: !readOnly,
    });
  }
  return out;
}

beforeAll(async () => {
  rt = await openTestRuntime();
  await buildDemoTenant(rt.store.db, rt.env, { users: 40, seed: 11 });
  app = await buildServer(rt);
  token = (await createApiToken(rt.store.db, { actor: "local:test", source: "cli:in-process" }, { name: "fuzz", role: "global-admin" }))
    .token;
  operations = operationsOf(app.swagger() as unknown as { paths: Record<string, Record<string, Json>> });
});

afterAll(async () => {
  await app?.close();
  await rt?.close();
});

it("answers thousands of malformed requests with a clear 4xx, never a 5xx, and changes nothing", async () => {
  const before = await fingerprint();
  const probes = operations.flatMap(probesOf);
  // The tenant header is input too.
  for (const f of fragments.slice(0, 8)) {
    probes.push({
      what: `tenant ${JSON.stringify(f)}`,
      method: "GET",
      url: "/api/v1/users",
      headers: { "x-callplane-tenant": [...f].filter((c) => (c.codePointAt(0) ?? 0) >= 0x20 && c !== "\u202e" && c !== "\u202c").join("") },
      malformed: true,
    });
  }
  // Broken percent-encoding and overlong UTF-8 in the path.
  for (const bad of ["%E0%A4%A", "%", "%C0%AF", "%ZZ", "%F4%90%80%80", "a%00b"]) {
    probes.push({ what: `path encoding ${bad}`, method: "GET", url: `/api/v1/users/${bad}`, malformed: true });
    probes.push({ what: `path encoding ${bad}`, method: "DELETE", url: `/api/v1/voice/routes/${bad}`, malformed: true });
  }
  // The bulk move's own limit (64 MiB), just over.
  probes.push({
    what: "bulk move over 64 MiB",
    method: "POST",
    url: "/api/v1/conferencing/move-to-microsoft",
    headers: { "content-type": "application/json" },
    payload: JSON.stringify({ userList: "a".repeat(64 * 1024 * 1024 + 10) }),
    malformed: true,
  });
  expect(probes.length).toBeGreaterThan(2000);
  const wrong: string[] = [];
  const codes = new Map<number, number>();
  for (const p of probes) {
    const res = await app.inject({
      method: p.method as "POST",
      url: p.url,
      headers: { authorization: `Bearer ${token}`, ...(p.headers ?? {}) },
      payload: p.payload,
    });
    codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1);
    const where = `${p.method} ${p.url.slice(0, 120)} [${p.what}]`;
    if (res.statusCode >= 500) {
      wrong.push(`${where}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      continue;
    }
    if (!p.malformed) continue;
    if (res.statusCode < 400) {
      wrong.push(`${where}: ${res.statusCode}, expected a 4xx`);
      continue;
    }
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } }).error;
    } catch {
      error = undefined;
    }
    if (typeof error?.code !== "string" || typeof error.message !== "string" || error.message.length < 10) {
      wrong.push(`${where}: ${res.statusCode} without a clear error: ${res.body.slice(0, 200)}`);
    }
  }
  expect(wrong.slice(0, 40)).toEqual([]);
  expect(await fingerprint()).toEqual(before);
  // The answers were refusals of many kinds, not one blanket refusal.
  expect([...codes.keys()].filter((c) => c >= 400 && c < 500).length).toBeGreaterThanOrEqual(4);
}, 240_000); // thousands of requests: minutes on a loaded two-core machine
