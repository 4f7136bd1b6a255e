// Request and response schemas of the publish routes: one per route, shared by the server, the
// OpenAPI document and the web client.
import { z } from "zod";

export const proxyView = z.object({
  name: z.string(),
  rpcAddress: z.string().describe("HOST:PORT of Kamailio's JSON-RPC over HTTP"),
  dataDir: z.string().describe("the folder of db_text tables the proxy reads"),
  generation: z.number().nullable(),
  slot: z.number().nullable(),
  publishedAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export const proxyCreate = z.strictObject({
  name: z.string().min(1).max(100),
  rpcAddress: z.string().min(1).max(300),
  dataDir: z.string().min(1).max(1000),
});

const counts = z.object({
  users: z.number(),
  callers: z.number(),
  dialPlans: z.number(),
  rules: z.number(),
  pstnUsages: z.number(),
  routes: z.number(),
  gateways: z.number(),
  policies: z.number(),
});

const changes = z.object({
  dialplanRows: z.object({ added: z.number(), removed: z.number() }),
  routingKeys: z.object({ added: z.number(), removed: z.number(), changed: z.number() }),
  callers: z.object({ added: z.number(), removed: z.number(), changed: z.number() }),
});

export const publishBody = z.strictObject({
  rollback: z.number().int().min(1).optional().describe("publish generation N's tables again, as a new generation"),
});

export const publishView = z.object({
  generation: z.number(),
  rollbackOf: z.number().nullable(),
  contentHash: z.string(),
  counts,
  changes,
  proxies: z.array(
    z.object({
      name: z.string(),
      rpcAddress: z.string(),
      generation: z.number().nullable(),
      ok: z.boolean(),
      error: z.string().nullable(),
    }),
  ),
  warning: z.string().nullable(),
});

export const publishStatusView = z.object({
  generation: z.number().nullable(),
  publishedAt: z.string().nullable(),
  publishedBy: z.string().nullable(),
  rollbackOf: z.number().nullable(),
  unpublishedChanges: z.boolean(),
  compileError: z.string().nullable(),
  proxies: z.array(
    z.object({
      name: z.string(),
      rpcAddress: z.string(),
      reachable: z.boolean(),
      generation: z.number().nullable(),
      slot: z.number().nullable(),
      matches: z.boolean(),
      drift: z.array(z.string()),
      publishedAt: z.string().nullable(),
      lastError: z.string().nullable(),
    }),
  ),
  history: z.array(
    z.object({ generation: z.number(), publishedAt: z.string(), publishedBy: z.string(), rollbackOf: z.number().nullable() }),
  ),
});

export const kamailioConfigQuery = z.strictObject({
  sip: z.string().max(300).optional().describe("where Kamailio listens for SIP, HOST:PORT (default 127.0.0.1:5060)"),
  rpc: z.string().max(300).optional().describe("where it answers JSON-RPC, HOST:PORT (default 127.0.0.1:5080)"),
  dataDir: z.string().max(1000).optional().describe("the folder of tables Callplane writes (default /var/lib/callplane/kamailio)"),
  runDir: z.string().max(1000).optional().describe("its run folder (default /run/kamailio)"),
});

export const kamailioConfigView = z.object({ config: z.string(), command: z.array(z.string()) });

export const planBody = z.strictObject({
  numbers: z
    .array(z.strictObject({ dialled: z.string().min(1).max(100), user: z.string().min(1).max(320).optional() }))
    .max(10_000)
    .optional()
    .describe("dialled numbers to compare too (e.g. from call records), each by every caller or by the user named"),
});

const outcome = z.object({
  number: z.string(),
  route: z.string().nullable(),
  gateways: z.array(z.string()),
  reason: z.string().nullable(),
});
const example = z.object({ user: z.string(), dialled: z.string(), destination: z.string(), before: outcome, after: outcome });
const kinds = <T extends z.ZodType>(t: T) => z.object({ unroutable: t, routable: t, route: t, gateways: t, number: t });

export const planView = z.object({
  liveGeneration: z.number().nullable(),
  refusals: z.array(z.object({ kind: z.string(), name: z.string(), reason: z.string() })),
  callers: z.number(),
  destinations: z.number(),
  resolutions: z.number(),
  changed: kinds(z.number()),
  unchanged: z.number(),
  examples: kinds(z.array(example)),
  ms: z.number(),
});
