// Calls through a real Kamailio running the generated kamailio.cfg, to real SIP gateways (SIPp): a small
// hand-built generation is written as db_text tables (dbtext.ts), reloaded over JSON-RPC (rpc.ts) and
// flipped, then SIPp places calls and the gateways report what reached them. It shows the normalized
// number each gateway got, usage order, gateway failover (503, then no answer within the failover
// time), backup routes, caller ID, every rejection with its reason, a flip to the other slot, a
// restart that comes back on the last flipped generation, and that reloads from one client never overlap.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type DialplanRow,
  type HtableRow,
  POINTER_HTABLE,
  ROUTE_DPID_OFFSET,
  ROUTING_HTABLE,
  readDialplan,
  SLOT_DPID_BASE,
  type Slot,
  USAGE_DPID_OFFSET,
  usersHtable,
  writeDialplanSlot,
  writePointer,
  writeRoutingSlot,
  writeUsers,
} from "../../src/voice/kamailio/dbtext.ts";
import { KamailioRpc } from "../../src/voice/kamailio/rpc.ts";
import { describeKamailio, type KamailioInstance, startKamailio } from "../support/kamailio.ts";
import { type CallResult, invitesByCall, placeCalls, type SippGateway, sippMissing, startGateway } from "../support/sipp.ts";

/** A generation as the compiler would hand it over, by index: what each slot's rows are built from. */
interface HandGeneration {
  gateways: { name: string; frMs: number }[];
  dialPlans: { name: string; pattern: string; translation: string }[][];
  usages: string[];
  /** In tried order; each lists the usages (indices) it serves and its gateways (indices). */
  routes: { name: string; pattern: string; usages: number[]; gateways: number[]; callerId: string }[];
  /** Usage indices per policy, in order. */
  policies: number[][];
  users: Record<string, { dp: number; pol: number }>;
}

/** The rows of `g` for slot `s`, in the data contract kamailio.cfg reads (see config.ts). */
function rowsOf(g: HandGeneration, s: Slot, gatewayAddress: (name: string) => string) {
  const base = s * SLOT_DPID_BASE;
  const dialplan: DialplanRow[] = [];
  g.dialPlans.forEach((rules, dp) => {
    rules.forEach((r, pr) => {
      dialplan.push({ dpid: base + dp, pr, matchExp: r.pattern, substExp: r.pattern, replExp: r.translation, attrs: r.name });
    });
  });
  const routing: HtableRow[] = [];
  g.usages.forEach((_, u) => {
    const routes = g.routes.flatMap((r, i) => (r.usages.includes(u) ? [i] : []));
    // "^" and "r" are placeholders: a usage's rules only match (dp_match), never translate.
    routes.forEach((ri, pr) => {
      dialplan.push({
        dpid: base + USAGE_DPID_OFFSET + u,
        pr,
        matchExp: g.routes[ri]?.pattern ?? "",
        substExp: "^",
        replExp: "r",
        attrs: String(ri),
      });
    });
    if (routes.length) routing.push({ key: `${s}:ur:${u}`, value: routes.join(",") });
  });
  g.routes.forEach((r, ri) => {
    dialplan.push({ dpid: base + ROUTE_DPID_OFFSET + ri, pr: 0, matchExp: r.pattern, substExp: "^", replExp: "r", attrs: String(ri) });
    routing.push({ key: `${s}:r:${ri}`, value: r.gateways.length ? r.gateways.join(",") : "none" });
    routing.push({ key: `${s}:rc:${ri}`, value: r.callerId });
  });
  g.policies.forEach((usages, p) => {
    routing.push({ key: `${s}:p:${p}`, value: usages.length ? usages.join(",") : "none" });
  });
  g.gateways.forEach((gw, i) => {
    routing.push({ key: `${s}:g:${i}`, value: `hp=${gatewayAddress(gw.name)};fr=${gw.frMs};codes=408|503|504` });
  });
  const users = Object.entries(g.users).map(([user, u]) => ({ key: user, value: `dp=${u.dp};pol=${u.pol}` }));
  return { dialplan, routing, users };
}

const GATEWAYS = { gwa: "answer", gwb: "answer", gwc: "reject503", gwd: "silent" } as const;
type GatewayName = keyof typeof GATEWAYS;

// Indices, to read the generation below.
const LOCAL = 0;
const INTERNATIONAL = 1;
const [GWA, GWB, GWC, GWD] = [0, 1, 2, 3];

const generation1: HandGeneration = {
  // gwd never answers: its 1 s failover time must expire.
  gateways: [
    { name: "gwa", frMs: 3000 },
    { name: "gwb", frMs: 3000 },
    { name: "gwc", frMs: 3000 },
    { name: "gwd", frMs: 1000 },
  ],
  // One dial plan: a 4-digit extension, and a national number (with "(?:", whose ":" db_text must escape).
  dialPlans: [
    [
      { name: "ext", pattern: String.raw`^(\d{4})\z`, translation: String.raw`+1425555\1` },
      { name: "national", pattern: String.raw`^(?:1)?(\d{10})\z`, translation: String.raw`+1\1` },
    ],
  ],
  usages: ["Local", "International"],
  routes: [
    { name: "Local-425", pattern: String.raw`^\+1425`, usages: [LOCAL], gateways: [GWA], callerId: "none" },
    { name: "Seattle-206", pattern: String.raw`^\+1206`, usages: [LOCAL], gateways: [GWA, GWB], callerId: "sup=1" },
    { name: "DeadOnly", pattern: String.raw`^\+98`, usages: [LOCAL], gateways: [GWC, GWD], callerId: "none" },
    // No usable gateway ("none"): straight to the backups, as on failure.
    { name: "NoGatewayLocal", pattern: String.raw`^\+96`, usages: [LOCAL], gateways: [], callerId: "none" },
    { name: "Dead", pattern: String.raw`^\+99`, usages: [INTERNATIONAL], gateways: [GWC, GWD], callerId: "none" },
    { name: "NoGatewayIntl", pattern: String.raw`^\+97`, usages: [INTERNATIONAL], gateways: [], callerId: "none" },
    { name: "Intl", pattern: String.raw`^\+`, usages: [INTERNATIONAL], gateways: [GWB], callerId: "alt=+14255550100" },
  ],
  policies: [[LOCAL, INTERNATIONAL], [INTERNATIONAL, LOCAL], []],
  users: {
    alice: { dp: 0, pol: 0 },
    bob: { dp: -1, pol: 1 },
    carol: { dp: 0, pol: -1 },
    dave: { dp: 0, pol: 2 },
  },
};

// Generation 2 changes the extension rule and Local-425's gateway.
const generation2: HandGeneration = {
  ...generation1,
  dialPlans: [
    [
      { name: "ext", pattern: String.raw`^(\d{4})\z`, translation: String.raw`+1425556\1` },
      { name: "national", pattern: String.raw`^(?:1)?(\d{10})\z`, translation: String.raw`+1\1` },
    ],
  ],
  routes: generation1.routes.map((r) => (r.name === "Local-425" ? { ...r, gateways: [GWB] } : r)),
};

function ok(r: CallResult | undefined): Extract<CallResult, { ok: true }> {
  if (!r?.ok) throw new Error(`Expected the call to be answered, got ${JSON.stringify(r)}`);
  return r;
}

describeKamailio(
  "Kamailio routes calls by the published generation (real SIP)",
  () => {
    let dir: string;
    let kamailio: KamailioInstance;
    const gateways = new Map<GatewayName, SippGateway>();
    const proxy = () => `${kamailio.host}:${kamailio.sipPort}`;
    const gatewayAddress = (name: string) => {
      const g = gateways.get(name as GatewayName);
      if (!g) throw new Error(`No gateway ${name}`);
      return g.hostPort;
    };
    const calls = (list: [string, string][], name: string) =>
      placeCalls({ proxy: proxy(), calls: list.map(([caller, dialled]) => ({ caller, dialled })), dir, name });

    /** A publish as Callplane does it: the inactive slot's tables, their reloads, then the pointer last. */
    async function publish(slot: Slot, gen: number, g: HandGeneration): Promise<void> {
      const rows = rowsOf(g, slot, gatewayAddress);
      writeDialplanSlot(kamailio.dataDir, slot, rows.dialplan);
      writeRoutingSlot(kamailio.dataDir, slot, rows.routing);
      writeUsers(kamailio.dataDir, slot, rows.users);
      await kamailio.rpc.reloadDialplan();
      await kamailio.rpc.reloadHtable(ROUTING_HTABLE);
      await kamailio.rpc.reloadHtable(usersHtable(slot));
      writePointer(kamailio.dataDir, { slot, gen });
      await kamailio.rpc.reloadHtable(POINTER_HTABLE);
    }

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), "callplane-sip-"));
      const started = await Promise.allSettled(
        Object.entries(GATEWAYS).map(async ([name, behaviour]) => {
          gateways.set(name as GatewayName, await startGateway(name, behaviour, dir));
        }),
      );
      const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
      kamailio = await startKamailio();
    });

    afterAll(async () => {
      // Every process by its own PID, whatever happened above.
      await Promise.allSettled([kamailio?.stop(), ...[...gateways.values()].map((g) => g.stop())]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("answers 503 until a generation is published", async () => {
      const [r] = await calls([["alice", "1234"]], "unpublished");
      expect(r).toMatchObject({ ok: false, code: 503, reason: "Callplane: nothing published yet" });
    });

    let batch: CallResult[] = [];
    const batchCalls: [string, string][] = [
      ["alice", "1234"],
      ["alice", "2065550100"],
      ["alice", "+4420771234"],
      ["alice", "+14255550123"],
      ["bob", "+14255550123"],
      ["bob", "1234"],
      ["alice", "+99123"],
      ["alice", "+98123"],
      ["mallory", "1234"],
      ["carol", "1234"],
      ["dave", "1234"],
      ["alice", "12ab"],
      ["alice", "1".repeat(65)],
      ["alice", "+97123"],
      ["alice", "+96123"],
    ];

    it("routes generation 1: normalization, usage order, caller ID and every rejection with its reason", async () => {
      await publish(0, 1, generation1);
      expect(await kamailio.rpc.htableGet(POINTER_HTABLE, "slot")).toBe(0);
      expect(await kamailio.rpc.htableGet(POINTER_HTABLE, "gen")).toBe(1);
      // The "(?:" pattern went through db_text's escaping intact.
      expect((await kamailio.rpc.dialplanDump(0)).map((e) => [e.pr, e.matchExp, e.replExp, e.attrs])).toEqual([
        [0, String.raw`^(\d{4})\z`, String.raw`+1425555\1`, "ext"],
        [1, String.raw`^(?:1)?(\d{10})\z`, String.raw`+1\1`, "national"],
      ]);

      const mark = kamailio.log().length;
      batch = await calls(batchCalls, "gen1");
      const [
        ext,
        national,
        intl,
        localFirst,
        intlFirst,
        noRoute,
        backup,
        allFailed,
        unknown,
        noPolicy,
        noUsages,
        letters,
        tooLong,
        noGwBackup,
        noGw,
      ] = batch;

      // The extension rule, then Local-425 (Local is alice's first usage).
      expect(ok(ext)).toMatchObject({ gw: "gwa", num: "+14255551234", from: "alice", replyFrom: "alice" });
      // The national rule; Seattle-206 starts at a random one of its two gateways and suppresses caller ID
      // (the caller still gets its own From back).
      expect(ok(national)).toMatchObject({ num: "+12065550100", from: "anonymous", replyFrom: "alice" });
      expect(["gwa", "gwb"]).toContain(ok(national).gw);
      // No Local route matches: International's Intl, with its alternate caller ID.
      expect(ok(intl)).toMatchObject({ gw: "gwb", num: "+4420771234", from: "+14255550100", replyFrom: "alice" });
      // The same number by each policy's first usage that has a match: Local for alice, International for bob.
      expect(ok(localFirst)).toMatchObject({ gw: "gwa", num: "+14255550123" });
      expect(ok(intlFirst)).toMatchObject({ gw: "gwb", num: "+14255550123", from: "+14255550100" });
      // bob has no dial plan: his digits are routed as dialled, and no route matches "1234".
      expect(noRoute).toMatchObject({ ok: false, code: 404, reason: "Callplane: no route for 1234" });
      expect(ok(backup)).toMatchObject({ gw: "gwb", num: "+99123" });
      expect(allFailed).toMatchObject({ ok: false, code: 503, reason: "Callplane: all gateways failed" });
      expect(unknown).toMatchObject({ ok: false, code: 403, reason: "Callplane: unknown caller mallory" });
      expect(noPolicy).toMatchObject({ ok: false, code: 403, reason: "Callplane: no voice routing policy for carol" });
      expect(noUsages).toMatchObject({ ok: false, code: 403, reason: "Callplane: policy has no PSTN usages" });
      expect(letters).toMatchObject({ ok: false, code: 484, reason: "Callplane: dialled number must be digits" });
      expect(tooLong).toMatchObject({ ok: false, code: 484, reason: "Callplane: dialled number is longer than 64" });
      // A route without gateways hands the call to its backup (Intl), or fails when it has none.
      expect(ok(noGwBackup)).toMatchObject({ gw: "gwb", num: "+97123" });
      expect(noGw).toMatchObject({ ok: false, code: 503, reason: "Callplane: route has no gateways" });

      // One log line per routed INVITE, naming the generation.
      expect(kamailio.logSince(mark)).toContain(
        "callplane route gen=1 slot=0 caller=alice dialled=1234 num=+14255551234 rule=ext usage=0 route=0 gw=0",
      );
    });

    it("fails over on 503 and on silence, then to the usage's backup route, never to another usage's", () => {
      const invites = invitesByCall([...gateways.values()]);
      const order = (r: CallResult | undefined) => (invites.get(r?.callId ?? "") ?? []).map((i) => `${i.gw}:${i.ruser}`);
      const backup = order(batch[6]);
      // Dead's two gateways in either order (random start), then Intl's.
      expect(backup).toHaveLength(3);
      expect(backup.slice(0, 2).sort()).toEqual(["gwc:+99123", "gwd:+99123"]);
      expect(backup[2]).toBe("gwb:+99123");
      // DeadOnly has no backup in Local; International's Intl would match but is another usage.
      expect(order(batch[7]).sort()).toEqual(["gwc:+98123", "gwd:+98123"]);
      // Answered calls reached exactly one gateway; rejected ones none.
      expect(order(batch[0])).toEqual(["gwa:+14255551234"]);
      for (const r of batch.slice(8, 13)) expect(order(r)).toEqual([]);
      expect(order(batch[13])).toEqual(["gwb:+97123"]);
      expect(order(batch[14])).toEqual([]);
    });

    it("keeps the dialog on the proxy: the BYE reaches the gateway with the caller ID the INVITE had", () => {
      const byes = new Map([...gateways.values()].flatMap((g) => g.byes()).map((b) => [b.callId, b]));
      const answered = batch.filter((r): r is Extract<CallResult, { ok: true }> => r.ok);
      expect(answered).toHaveLength(7);
      for (const r of answered) expect(byes.get(r.callId)).toMatchObject({ gw: r.gw, from: r.from });
      // Suppressed and alternate caller ID are applied to the BYE too (uac restores them from the Record-Route).
      expect(answered.map((r) => byes.get(r.callId)?.from)).toEqual(expect.arrayContaining(["anonymous", "+14255550100"]));
    });

    it("flips to generation 2 in slot 1: the next call follows the change, slot 0's rows are left as they were", async () => {
      const slot0Before = readDialplan(kamailio.dataDir).filter((r) => r.dpid < SLOT_DPID_BASE);
      await publish(1, 2, generation2);
      expect(readDialplan(kamailio.dataDir).filter((r) => r.dpid < SLOT_DPID_BASE)).toEqual(slot0Before);
      expect(await kamailio.rpc.htableGet(POINTER_HTABLE, "slot")).toBe(1);

      const mark = kamailio.log().length;
      const [ext, intl] = await calls(
        [
          ["alice", "1234"],
          ["alice", "+4420771234"],
        ],
        "gen2",
      );
      expect(ok(ext)).toMatchObject({ gw: "gwb", num: "+14255561234" });
      expect(ok(intl)).toMatchObject({ gw: "gwb", num: "+4420771234" });
      expect(kamailio.logSince(mark)).toContain("callplane route gen=2 slot=1 caller=alice dialled=1234 num=+14255561234");
    });

    it("comes back on the last flipped generation after a restart, and publishes on", async () => {
      const before = kamailio.pid();
      await kamailio.down();
      await kamailio.up();
      expect(kamailio.pid()).not.toBe(before);
      expect(await kamailio.rpc.htableGet(POINTER_HTABLE, "gen")).toBe(2);
      expect(ok((await calls([["alice", "1234"]], "restarted"))[0])).toMatchObject({ gw: "gwb", num: "+14255561234" });

      // Generation 3 goes to slot 0 (generation 1's data again); slot 1's rows stay.
      const slot1Before = readDialplan(kamailio.dataDir).filter((r) => r.dpid >= SLOT_DPID_BASE);
      await publish(0, 3, generation1);
      expect(readDialplan(kamailio.dataDir).filter((r) => r.dpid >= SLOT_DPID_BASE)).toEqual(slot1Before);
      expect(ok((await calls([["alice", "1234"]], "gen3"))[0])).toMatchObject({ gw: "gwa", num: "+14255551234" });
    });

    it("runs two dialplan reloads from one client one after the other", async () => {
      const events: { method: string; phase: string }[] = [];
      const rpc = new KamailioRpc(kamailio.rpcAddress, { onRequest: (e) => events.push(e) });
      await Promise.all([rpc.reloadDialplan(), rpc.reloadDialplan(), new KamailioRpc(kamailio.rpcAddress).reloadDialplan()]);
      // The first request ended before the second started; the other client shares the per-proxy turn.
      expect(events.map((e) => `${e.method}:${e.phase}`)).toEqual([
        "dialplan.reload:start",
        "dialplan.reload:end",
        "dialplan.reload:start",
        "dialplan.reload:end",
      ]);
      expect(ok((await calls([["alice", "1234"]], "after-reloads"))[0])).toMatchObject({ gw: "gwa" });
      // No worker died along the way.
      expect(kamailio.log()).not.toMatch(/exited by a signal|ALERT:|CRITICAL:/);
    });
  },
  sippMissing(),
);
