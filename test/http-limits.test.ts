// What a client may hold open on a listening server: a request whose body (or headers) trickles in is
// cut off after the request timeout, and connections beyond the cap are refused. Real sockets on
// 127.0.0.1, short limits so the test is quick.
import net from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../src/http/server.ts";
import { openTestRuntime, type TestRuntime } from "./support/store.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let port: number;

const REQUEST_TIMEOUT_MS = 1500;
const MAX_CONNECTIONS = 4;

beforeAll(async () => {
  rt = await openTestRuntime();
  app = await buildServer(rt, { limits: { requestTimeoutMs: REQUEST_TIMEOUT_MS, maxConnections: MAX_CONNECTIONS } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  port = address.port;
});
afterAll(async () => {
  await app?.close();
  await rt?.close();
});

interface Outcome {
  /** Milliseconds from connecting until the server closed the connection; undefined if it did not within `waitMs`. */
  closedAfterMs?: number;
  received: string;
}

/** Connects, lets `feed` write to the socket, and waits up to `waitMs` for the server to close it. */
function hold(feed: (socket: net.Socket) => void, waitMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const started = Date.now();
    let received = "";
    let timer: NodeJS.Timeout | undefined;
    const done = (closedAfterMs?: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ closedAfterMs, received });
    };
    socket.on("connect", () => feed(socket));
    socket.on("data", (d) => {
      received += d.toString("latin1");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET" || err.code === "EPIPE") done(Date.now() - started);
      else reject(err);
    });
    socket.on("close", () => done(Date.now() - started));
    timer = setTimeout(() => done(undefined), waitMs);
  });
}

/** Writes one byte every `everyMs` while the socket is open. */
function trickle(socket: net.Socket, everyMs: number): void {
  const t = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(t);
    else socket.write("a");
  }, everyMs);
  socket.on("close", () => clearInterval(t));
}

describe("a listening server's limits", () => {
  it("cuts off a request whose body trickles in, once the request timeout has passed", async () => {
    const outcome = await hold((s) => {
      s.write("POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
      trickle(s, 100);
    }, REQUEST_TIMEOUT_MS * 4);
    expect(outcome.closedAfterMs, "the server kept the trickling request open").toBeDefined();
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(outcome.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 3);
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("cuts off a request whose headers trickle in", async () => {
    const outcome = await hold((s) => {
      s.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      trickle(s, 100);
    }, REQUEST_TIMEOUT_MS * 4);
    expect(outcome.closedAfterMs, "the server kept the trickling headers open").toBeDefined();
    expect(outcome.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 3);
  });

  it("refuses connections beyond the cap, and takes new ones once some are gone", async () => {
    const idle: net.Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      idle.push(
        await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
          s.on("error", reject);
        }),
      );
    }
    // Give the server the time to count them.
    await new Promise((r) => setTimeout(r, 100));
    const extra = await hold((s) => s.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 1000);
    expect(extra.closedAfterMs, "a connection beyond the cap was served").toBeDefined();
    expect(extra.received).toBe("");

    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });

  it("still answers a normal request with a body well within the limits", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "nobody", password: "wrong-password" }),
    });
    expect(res.status).toBe(401);
  });
});
