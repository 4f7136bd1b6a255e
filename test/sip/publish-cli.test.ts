// The README's way, with the real binary: `callplane kamailio config` writes the kamailio.cfg a real
// Kamailio runs, `voice proxies add` and `voice publish` hand the demo tenant's routing to it, and a
// SIPp call from a demo user reaches the SIPp gateway `voice test-route` names for that user and number.
// On PostgreSQL (CI's second pass) the CLI works on a throwaway database of its own.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { describeKamailio, type KamailioInstance, startKamailio } from "../support/kamailio.ts";
import { placeCalls, type SippGateway, sippMissing, startGateway } from "../support/sipp.ts";
import { createTestDatabase } from "../support/store.ts";

const PIN_KEY = "4f1c2d3e4a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f";

describeKamailio(
  "callplane kamailio config, voice proxies add, voice publish: a demo user's call reaches the gateway test-route names",
  () => {
    let dir: string;
    let kam: KamailioInstance;
    let sbc1: SippGateway;
    let sbc2: SippGateway;
    let env: NodeJS.ProcessEnv;
    let args: string[];
    let drop: (() => Promise<void>) | undefined;

    const cli = async (a: string[], expectCode = 0) => {
      const r = await runCli(dir, [...a, ...args], 120_000, env);
      expect(r.code, `callplane ${a.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(expectCode);
      return r;
    };
    const json = async <T>(a: string[], expectCode = 0): Promise<T> => JSON.parse((await cli([...a, "--json"], expectCode)).stdout) as T;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), "callplane-publish-cli-"));
      env = { CALLPLANE_PIN_KEY: PIN_KEY };
      args = [];
      if (process.env.DATABASE_URL) {
        const db = await createTestDatabase("cp_sip");
        drop = db.drop;
        env.DATABASE_URL = db.url;
      } else args = ["--data", path.join(dir, ".callplane")];
      await cli(["demo", "--users", "300", "--json"]);
      // Kamailio runs the file the CLI wrote, on the addresses the test picked.
      kam = await startKamailio({
        writeConfig: async (o) => {
          const r = await cli([
            "kamailio",
            "config",
            "--sip",
            o.sipListen,
            "--rpc",
            o.rpcListen,
            "--data-dir",
            o.dataDir,
            "--run-dir",
            o.runDir,
            "--out",
            o.cfgPath,
          ]);
          expect(r.stdout).toContain("kamailio -f");
          expect(readFileSync(o.cfgPath, "utf8")).toContain(o.rpcListen);
        },
      });
      sbc1 = await startGateway("sbc1", "answer", dir);
      sbc2 = await startGateway("sbc2", "answer", dir);
    }, 240_000);

    afterAll(async () => {
      await sbc1?.stop();
      await sbc2?.stop();
      await kam?.stop();
      await drop?.();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("prints a kamailio.cfg that Kamailio accepts, and refuses an address it cannot carry", async () => {
      const printed = await cli(["kamailio", "config"]);
      expect(printed.stdout).toMatch(/loadmodule "dialplan\.so"/);
      expect(printed.stdout).toContain("listen=udp:127.0.0.1:5060");
      const bad = await cli(["kamailio", "config", "--sip", "somewhere"], 2);
      expect(bad.stdout + bad.stderr).toMatch(/127\.0\.0\.1:5060/);
    });

    it("refuses a proxy address that is not HOST:PORT and a publish with no proxy, naming the fix", async () => {
      const none = await cli(["voice", "publish"], 2);
      expect(none.stdout + none.stderr).toMatch(/voice proxies add/);
      const bad = await cli(["voice", "proxies", "add", "k1", "--rpc", "kamailio", "--data-dir", kam.dataDir], 2);
      expect(bad.stdout + bad.stderr).toMatch(/HOST:PORT/);
    });

    it("publishes the demo tenant, and calls from demo users go where `voice test-route` says", async () => {
      for (const [fqdn, g] of [
        ["sbc1.contoso.com", sbc1],
        ["sbc2.contoso.com", sbc2],
      ] as const) {
        await cli(["voice", "gateways", "set", fqdn, "--signaling-address", g.host, "--sip-signaling-port", String(g.port)]);
      }
      await cli(["voice", "proxies", "add", "k1", "--rpc", kam.rpcAddress, "--data-dir", kam.dataDir]);
      const published = await json<{ generation: number; proxies: { name: string; ok: boolean }[] }>(["voice", "publish"]);
      expect(published).toMatchObject({ generation: 1, proxies: [{ name: "k1", ok: true }] });
      // Nothing changed since: the impact preview finds every call routed as it is.
      const plan = await json<{ liveGeneration: number; unchanged: number; destinations: number; changed: Record<string, number> }>([
        "voice",
        "publish",
        "--plan",
      ]);
      expect(plan).toMatchObject({ liveGeneration: 1, changed: { unroutable: 0, routable: 0, route: 0, gateways: 0, number: 0 } });
      expect(plan.unchanged).toBe(plan.destinations);
      expect(plan.destinations).toBeGreaterThan(1000);
      const status = await cli(["voice", "publish", "--status"]);
      expect(status.stdout).toMatch(/Generation 1/);
      expect(status.stdout).toMatch(/k1\s+\S+\s+1\s+\d\s+\S+\s+in step/);

      const page = await json<{ items: { userPrincipalName: string; voice: { lineUri: string | null } }[] }>([
        "users",
        "list",
        "--limit",
        "300",
      ]);
      const callers = page.items
        .map((u) => ({ userPrincipalName: u.userPrincipalName, lineUri: u.voice.lineUri }))
        .filter((u) => u.lineUri && !u.lineUri.includes(";ext="))
        .slice(0, 2);
      expect(callers.length).toBeGreaterThanOrEqual(2);
      const dialled = ["2065550123", "+442071234567", "911"];
      const calls = callers.flatMap((u) =>
        dialled.map((d) => ({ caller: (u.lineUri ?? "").replace(/^tel:/, ""), dialled: d, upn: u.userPrincipalName })),
      );
      const results = await placeCalls({ proxy: `${kam.host}:${kam.sipPort}`, calls, dir, name: "cli-uac" });
      const wrong: string[] = [];
      for (const [i, r] of results.entries()) {
        const c = calls[i];
        if (!c) continue;
        const t = await json<{ route: string | null; gateways: string[]; routedNumber: string }>([
          "voice",
          "test-route",
          "--user",
          c.upn,
          "--number",
          c.dialled,
        ]);
        const names = t.gateways.map((g) => g.split(".")[0]);
        if (t.route === null) {
          if (r.ok) wrong.push(`${c.upn} ${c.dialled}: reached ${r.gw}, test-route has no route`);
        } else if (!r.ok) wrong.push(`${c.upn} ${c.dialled}: ${r.code} ${r.reason}, test-route routes by ${t.route}`);
        else if (!names.includes(r.gw) || r.num !== t.routedNumber)
          wrong.push(`${c.upn} ${c.dialled}: ${r.gw} got ${r.num}; test-route: ${names.join("/")} gets ${t.routedNumber}`);
      }
      expect(wrong).toEqual([]);
      expect(results.some((r) => r.ok)).toBe(true);
    }, 240_000);
  },
  sippMissing(),
);
