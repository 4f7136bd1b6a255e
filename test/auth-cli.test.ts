// The access-control commands as an administrator runs them: the real binary on its own embedded
// store. Token expiry (90 days unless told, `--expires-in never`, too long refused), a one-time
// password's expiry, `accounts unlock` clearing the sign-in slow-down, and (on PostgreSQL) two
// servers starting at once on a fresh database.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { signIn } from "../src/auth/auth.service.ts";
import { openRuntime } from "../src/runtime.ts";
import { lowerPasswordCostForTests } from "./support/auth.ts";
import { callplaneBin, cliEnv, type Ran, runCli } from "./support/cli.ts";
import { createTestDatabase, itOnPostgres } from "./support/store.ts";

// The spawned commands inherit it (and VITEST): accounts made here are hashed at the test cost.
lowerPasswordCostForTests();

const DAY = 86_400_000;
let dir: string;
let dataDir: string;

function cli(args: string[]): Promise<Ran> {
  return runCli(dir, ["--data", dataDir, "--outbox", path.join(dir, "outbox"), ...args]);
}

function show(ran: Ran): string {
  return `exit ${ran.code}\nstdout: ${ran.stdout.slice(0, 2000)}\nstderr: ${ran.stderr.slice(0, 2000)}`;
}

const fromNow = (iso: string | null) => (iso ? new Date(iso).getTime() - Date.now() : Number.NaN);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "callplane-auth-cli-"));
  dataDir = path.join(dir, "data");
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it("tokens create: 90 days unless told, --expires-in never for no expiry, a duration too long refused", async () => {
  const byDefault = await cli(["tokens", "create", "ci", "--role", "reader", "--json"]);
  expect(byDefault.code, show(byDefault)).toBe(0);
  const expiresAt = (JSON.parse(byDefault.stdout) as { tokenInfo: { expiresAt: string | null } }).tokenInfo.expiresAt;
  expect(fromNow(expiresAt)).toBeGreaterThan(90 * DAY - 5 * 60_000);
  expect(fromNow(expiresAt)).toBeLessThanOrEqual(90 * DAY);

  const never = await cli(["tokens", "create", "forever", "--role", "reader", "--expires-in", "never"]);
  expect(never.code, show(never)).toBe(0);
  expect(never.stdout).toMatch(/^Created the API token forever \([0-9a-f]{12}, role reader, never expires\)\./);

  const tooLong = await cli(["tokens", "create", "long", "--role", "reader", "--expires-in", "999999w"]);
  expect(tooLong.code, show(tooLong)).toBe(2);
  expect(tooLong.stderr).toContain(
    '"999999w" is too long: a token may last at most 730 days; give never for a token that does not expire.',
  );
});

it("accounts create gives a one-time password for 72 hours; accounts unlock clears the sign-in slow-down", async () => {
  const made = await cli(["accounts", "create", "ops", "--role", "reader", "--json"]);
  expect(made.code, show(made)).toBe(0);
  const account = (JSON.parse(made.stdout) as { account: { passwordExpiresAt: string } }).account;
  expect(fromNow(account.passwordExpiresAt)).toBeGreaterThan(72 * 3_600_000 - 5 * 60_000);

  // Five wrong passwords from one address, through the service on the store (no command holds the folder now).
  const rt = await openRuntime({ dataDir });
  try {
    for (let i = 0; i < 5; i++) {
      await expect(signIn(rt.store.db, { username: "ops", password: `wrong ${i} wrong` }, "ip:192.0.2.1")).rejects.toThrow(
        "username or password is wrong",
      );
    }
    await expect(signIn(rt.store.db, { username: "ops", password: "wrong again wrong" }, "ip:192.0.2.1")).rejects.toThrow(
      "Too many failed sign-ins",
    );
  } finally {
    await rt.close();
  }
  const unlocked = await cli(["accounts", "unlock", "ops"]);
  expect(unlocked.code, show(unlocked)).toBe(0);
  expect(unlocked.stdout.trim()).toBe("Sign-in to ops is no longer slowed down (cleared for 1 address).");
});

/** `callplane serve` on a database, until it listens (resolves with all it printed) or exits (rejects). */
function serve(databaseUrl: string, started: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [callplaneBin, "serve", "--port", "0", "--demo-users", "20"], {
    cwd: dir,
    env: { ...cliEnv(), DATABASE_URL: databaseUrl, CALLPLANE_OUTBOX: path.join(dir, "outbox") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`The server did not start in 60 s: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      // The first-run lines follow the listening line in the same write.
      if (/listening on http/.test(out)) {
        clearTimeout(timer);
        setTimeout(() => resolve(out), 200);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`The server exited (${code}) before listening: ${out}`));
    });
  });
}

itOnPostgres(
  "two servers started at once on a fresh database both serve, and one of them creates the administrator (an embedded store serves one process)",
  async () => {
    const db = await createTestDatabase("cp_serve");
    const started: ChildProcess[] = [];
    try {
      const outputs = await Promise.all([serve(db.url, started), serve(db.url, started)]);
      const created = outputs.filter((o) => o.includes('First run: created the global administrator "admin"'));
      expect(created, outputs.join("\n----\n")).toHaveLength(1);
    } finally {
      for (const child of started) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        }
      }
      await db.drop();
    }
  },
);
