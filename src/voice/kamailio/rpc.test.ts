// The RPC client's own behaviour: how it reports a proxy that is down, slow or answering garbage, and
// how it serializes per proxy. Kamailio's real answers are exercised in test/sip/kamailio.test.ts; the
// failures here cannot be provoked from a healthy Kamailio, so a bare HTTP server plays the broken one.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { exclusive, KamailioRpc, KamailioRpcError } from "./rpc.ts";

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A local HTTP server answering every request with `handler`; resolves with its host:port. */
function serve(handler: http.RequestListener): Promise<string> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    server = s;
    s.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(s.address() as AddressInfo).port}`));
  });
}

async function failure(p: Promise<unknown>): Promise<KamailioRpcError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof KamailioRpcError)) throw new Error(`Expected a KamailioRpcError, got ${String(outcome)}`);
  return outcome;
}

describe("KamailioRpc failures", () => {
  it("names the address when the connection is refused", async () => {
    const address = await serve(() => undefined);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const e = await failure(new KamailioRpc(address).uptime());
    expect(e.message).toBe(`Kamailio RPC core.uptime at http://${address}/RPC: connection refused (is Kamailio running?)`);
    expect(e.code).toBe("unavailable");
    expect(e.address).toBe(address);
  });

  it("turns a non-JSON answer into a clear error", async () => {
    const address = await serve((_req, res) => res.end("<html>502 Bad Gateway</html>"));
    const e = await failure(new KamailioRpc(address).reloadDialplan());
    expect(e.message).toMatch(
      /dialplan\.reload at http:\/\/127\.0\.0\.1:\d+\/RPC: the answer is not JSON \(HTTP 200\): <html>502 Bad Gateway<\/html>/,
    );
  });

  it("turns JSON that is not JSON-RPC into a clear error", async () => {
    const address = await serve((_req, res) => res.end('{"hello":"world"}'));
    expect((await failure(new KamailioRpc(address).uptime())).message).toMatch(/not a JSON-RPC 2\.0 response/);
  });

  it("reports the RPC's own error with its code", async () => {
    const address = await serve((_req, res) => res.end('{"jsonrpc":"2.0","error":{"code":500,"message":"ongoing reload"},"id":1}'));
    const e = await failure(new KamailioRpc(address).reloadDialplan());
    expect(e.rpcCode).toBe(500);
    expect(e.message).toMatch(/error 500: ongoing reload/);
  });

  it("refuses an answer over the size bound without reading it all", async () => {
    const address = await serve((_req, res) => {
      res.write('{"jsonrpc":"2.0","result":[');
      const chunk = `${'{"entry":0,"size":1,"slot":[]},'.repeat(1000)}`;
      const pump = () => {
        while (res.write(chunk)) if (res.writableLength > 1 << 20) break;
      };
      pump();
      res.on("drain", pump);
      res.on("error", () => undefined);
    });
    const e = await failure(new KamailioRpc(address, { timeoutMs: 5_000 }).htableDump("cp", { maxResponseBytes: 64 * 1024 }));
    expect(e.message).toMatch(/more than the 65536 bytes accepted/);
  });

  it("gives up after its timeout", async () => {
    const address = await serve(() => undefined);
    const e = await failure(new KamailioRpc(address, { timeoutMs: 200 }).uptime());
    expect(e.message).toMatch(/no answer within 200 ms/);
  });

  it("reads a missing htable key as null", async () => {
    const address = await serve((_req, res) =>
      res.end('{"jsonrpc":"2.0","error":{"code":500,"message":"Key name doesn\'t exist in htable."},"id":1}'),
    );
    expect(await new KamailioRpc(address).htableGet("cpgen", "slot")).toBeNull();
  });
});

describe("exclusive (one turn per proxy)", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("runs calls for one address one after the other, in call order, and others alongside", async () => {
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name}:start`);
      await sleep(ms);
      log.push(`${name}:end`);
      return name;
    };
    const results = await Promise.all([
      exclusive("10.0.0.1:5080", task("a1", 30)),
      exclusive("10.0.0.1:5080", task("a2", 1)),
      exclusive("10.0.0.2:5080", task("b1", 5)),
    ]);
    expect(results).toEqual(["a1", "a2", "b1"]);
    expect(log.indexOf("a2:start")).toBeGreaterThan(log.indexOf("a1:end"));
    expect(log.indexOf("b1:start")).toBeLessThan(log.indexOf("a1:end"));
  });

  it("lets a call made inside the turn run at once (a publish holding the turn across its reloads)", async () => {
    const inner = await exclusive("10.0.0.3:5080", () => exclusive("10.0.0.3:5080", async () => "inner"));
    expect(inner).toBe("inner");
  });

  it("passes the turn on after a failure", async () => {
    const failed = exclusive("10.0.0.4:5080", async () => {
      throw new Error("reload failed");
    });
    const next = exclusive("10.0.0.4:5080", async () => "next");
    await expect(failed).rejects.toThrow("reload failed");
    expect(await next).toBe("next");
  });
});
