// The real binary, spawned as an administrator runs it: no terminal, no standard input, a fresh
// folder as working directory and its own embedded store. Each spawn opens the store (a second or
// more), so one demo tenant serves a sequence of commands, each test building on the one before.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/audit.service.ts";
import type { ConferencingSummary } from "../src/conferencing/dial-in.service.ts";
import type { DemoSummary } from "../src/demo/demo.service.ts";
import type { UserPage, UserView } from "../src/directory/users.service.ts";
import { callplaneBin, cliEnv, type Ran, runCli } from "./support/cli.ts";

const actor = `local:${os.userInfo().username}`;

interface BulkJson {
  job: string;
  dryRun: boolean;
  summary: { changed: number; unchanged: number; failed: number };
  results: { identity: string; outcome: string; message: string }[];
}

let dir: string;
let dataDir: string;
let outboxDir: string;
let server: ChildProcess | undefined;

/** Runs `callplane --data <dir> --outbox <dir> ...args` to the end. */
function cli(args: string[], timeoutMs = 45_000, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return runCli(dir, ["--data", dataDir, "--outbox", outboxDir, ...args], timeoutMs, env);
}

function parsed<T>(ran: Ran): T {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch {
    throw new Error(`Not JSON (exit ${ran.code}).\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`);
  }
}

function show(ran: Ran): string {
  return `exit ${ran.code}\nstdout: ${ran.stdout.slice(0, 2000)}\nstderr: ${ran.stderr.slice(0, 2000)}`;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Starts `callplane serve` on the data folder and waits for its "listening" line. */
function startServer(port: number): Promise<string> {
  const child = spawn(
    process.execPath,
    [callplaneBin, "serve", "--port", String(port), "--data", dataDir, "--outbox", outboxDir, "--demo-users", "0"],
    { cwd: dir, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  server = child;
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`The server did not start in 30 s: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+?) /.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
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

async function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "callplane-cli-"));
  dataDir = path.join(dir, "data");
  outboxDir = path.join(dir, "outbox");
});

afterAll(async () => {
  await stopServer();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("callplane, the binary", () => {
  let demo: DemoSummary;
  let ready: UserView[];
  const readyOn = (provider: string) => ready.filter((u) => u.provider.name === provider);
  let replaced: UserView;
  let listed: [UserView, UserView];
  let listJob: string;

  it("prints help (exit 0), refuses an unknown option (exit 2), and builds a demo tenant", async () => {
    const [help, unknown, built] = await Promise.all([
      cli(["--help"]),
      cli(["--no-such-option"]),
      cli(["demo", "--users", "300", "--json"]),
    ]);
    expect(help.code, show(help)).toBe(0);
    expect(help.stdout).toContain("Usage: callplane");
    for (const command of ["conferencing", "users", "jobs", "audit", "serve", "demo"]) expect(help.stdout).toContain(command);
    expect(unknown.code, show(unknown)).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
    expect(unknown.stdout).toBe("");
    expect(built.code, show(built)).toBe(0);
    demo = parsed<DemoSummary>(built);
    expect(demo).toMatchObject({ users: 300, tenant: { name: "Contoso", domain: "contoso.com" } });
    expect(demo.byProvider.InterCall).toBeGreaterThan(10);
  });

  it("lists the users ready for Audio Conferencing as JSON", async () => {
    const ran = await cli(["users", "list", "--ready-for-audio-conferencing", "--limit", "1000", "--json"]);
    expect(ran.code, show(ran)).toBe(0);
    const page = parsed<UserPage>(ran);
    expect(page.total).toBe(demo.licensedForAudioConferencing - (demo.byProvider.Microsoft ?? 0));
    expect(page.items).toHaveLength(page.total);
    expect(page.items.every((u) => u.readyForAudioConferencing && u.audioConferencingLicensed && u.provider.kind !== "microsoft")).toBe(
      true,
    );
    ready = page.items;
    expect(readyOn("InterCall").length).toBeGreaterThan(1);
    expect(readyOn("PGi").length).toBeGreaterThan(1);
    expect(readyOn("BT Conferencing").length).toBeGreaterThan(1);
  });

  it("lists providers matching a wildcard", async () => {
    const ran = await cli(["conferencing", "providers", "--filter", "*Call*"]);
    expect(ran.code, show(ran)).toBe(0);
    const rows = ran.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^Identity\s+Domain\s+URL$/);
    expect(rows.slice(2).map((r) => r.split(/\s{2,}/)[0])).toEqual(["InterCall"]);
  });

  it("enable needs --replace-provider for a third-party user (exit 2), then prints the new PIN once", async () => {
    replaced = readyOn("InterCall")[0] as UserView;
    const refused = await cli(["conferencing", "enable", replaced.userPrincipalName]);
    expect(refused.code, show(refused)).toBe(2);
    expect(refused.stderr).toContain("uses InterCall");
    expect(refused.stderr).toContain("--replace-provider");
    expect(refused.stdout).toBe("");

    const ran = await cli(["conferencing", "enable", replaced.userPrincipalName, "--replace-provider"]);
    expect(ran.code, show(ran)).toBe(0);
    expect(ran.stdout).toContain(`The provider of ${replaced.userPrincipalName} has changed from InterCall to Microsoft.`);
    expect(ran.stdout).toMatch(/Conference ID\s+\d{7}\n/);
    const pins = [...ran.stdout.matchAll(/Leader PIN: (\d+)/g)].map((m) => m[1]);
    expect(pins).toHaveLength(1);
    const pin = pins[0] ?? "";
    expect(pin).toMatch(/^\d{5}$/);
    expect(ran.stdout.split(pin)).toHaveLength(2);
    expect(ran.stdout).toContain("shown this once");
  });

  it("move-to-microsoft --user-list: exit 1 when a user is not found, the others changed", async () => {
    const [a, b] = readyOn("PGi");
    if (!a || !b) throw new Error("no PGi users");
    listed = [a, b];
    const ran = await cli([
      "conferencing",
      "move-to-microsoft",
      "--user-list",
      `${a.userPrincipalName}, ${b.userPrincipalName}, nobody@x`,
      "--json",
    ]);
    expect(ran.code, show(ran)).toBe(1);
    const report = parsed<BulkJson>(ran);
    expect(Object.keys(report)).toEqual(["job", "dryRun", "summary", "results"]);
    expect(report.job).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.dryRun).toBe(false);
    expect(report.summary).toEqual({ changed: 2, unchanged: 0, failed: 1 });
    expect(report.results.map((r) => [r.identity, r.outcome])).toEqual([
      [a.userPrincipalName, "changed"],
      [b.userPrincipalName, "changed"],
      ["nobody@x", "not-found"],
    ]);
    expect(report.results[0]?.message).toBe(`The provider of ${a.userPrincipalName} has changed from PGi to Microsoft.`);
    expect(report.results[2]?.message).toContain("nobody@x");
    listJob = report.job;
  });

  it("move-to-microsoft --csv reads an Excel-style CSV: BOM, CRLF and a UserPrincipalName header", async () => {
    const [c, d] = readyOn("BT Conferencing");
    if (!c || !d) throw new Error("no BT Conferencing users");
    writeFileSync(
      path.join(dir, "users.csv"),
      `\uFEFFUserPrincipalName,DisplayName\r\n${c.userPrincipalName},${c.displayName}\r\n${d.userPrincipalName},${d.displayName}\r\n`,
    );
    const ran = await cli(["conferencing", "move-to-microsoft", "--csv", "users.csv"]);
    expect(ran.code, show(ran)).toBe(0);
    expect(ran.stderr).toContain('Read identities from the "UserPrincipalName" column of users.csv.');
    expect(ran.stderr).toContain("Number of users to have their audio conferencing provider set to Microsoft: 2");
    expect(ran.stdout).toContain(`changed  The provider of ${c.userPrincipalName} has changed from BT Conferencing to Microsoft.`);
    expect(ran.stdout).toContain(`changed  The provider of ${d.userPrincipalName} has changed from BT Conferencing to Microsoft.`);
    expect(ran.stdout).toContain("2 changed, 0 unchanged, 0 failed.");
  });

  it("move-to-microsoft --from-provider intercall --dry-run changes nothing", async () => {
    const interCall = demo.byProvider.InterCall ?? 0;
    const wouldChange = readyOn("InterCall").length - 1;
    const ran = await cli(["conferencing", "move-to-microsoft", "--from-provider", "intercall", "--dry-run", "--json"]);
    const report = parsed<BulkJson>(ran);
    expect(report.dryRun).toBe(true);
    expect(report.results).toHaveLength(interCall - 1);
    expect(report.summary).toEqual({ changed: wouldChange, unchanged: 0, failed: interCall - 1 - wouldChange });
    expect(report.results.filter((r) => r.outcome === "changed").every((r) => r.message.startsWith("Would change the provider"))).toBe(
      true,
    );
    // Users that would fail make a dry run exit 1, as the real run would.
    expect(ran.code, show(ran)).toBe(report.summary.failed > 0 ? 1 : 0);

    const summary = await cli(["conferencing", "summary", "--json"]);
    expect(summary.code, show(summary)).toBe(0);
    const now = parsed<ConferencingSummary>(summary);
    expect(now.byProvider.InterCall).toBe(interCall - 1);
    expect(now.byProvider.Microsoft).toBe((demo.byProvider.Microsoft ?? 0) + 5);
    expect(now.readyForAudioConferencing).toBe(ready.length - 5);
  });

  it("move-to-microsoft --from-provider Nope exits 2 and lists the supported providers", async () => {
    const ran = await cli(["conferencing", "move-to-microsoft", "--from-provider", "Nope"]);
    expect(ran.code, show(ran)).toBe(2);
    expect(ran.stderr).toContain('"Nope" is not a supported audio conferencing provider');
    for (const p of ["Microsoft", "Arkadin", "BT Conferencing", "InterCall", "PGi"]) expect(ran.stderr).toContain(p);
    expect(ran.stdout).toBe("");
  });

  it("move-to-microsoft --csv with a missing file exits 2: File does not exist", async () => {
    const ran = await cli(["conferencing", "move-to-microsoft", "--csv", "missing.csv"]);
    expect(ran.code, show(ran)).toBe(2);
    expect(ran.stderr).toContain("File does not exist: missing.csv");
    expect(ran.stdout).toBe("");
  });

  it("keeps control characters from user data off the terminal (human output), --json exact; a CSV of UPNs on one line is read whole", async () => {
    const [c, d] = readyOn("InterCall").slice(1, 3);
    if (!c || !d) throw new Error("no InterCall users");
    const evil = "x\u001b[2Jy\u009b\u202e@contoso.com";
    writeFileSync(path.join(dir, "one-line.csv"), `${c.userPrincipalName};${d.userPrincipalName};${evil}\r\n`);
    const human = await cli(["conferencing", "move-to-microsoft", "--csv", "one-line.csv", "--dry-run"]);
    expect(human.code, show(human)).toBe(1);
    expect(human.stderr).toContain("Number of users to have their audio conferencing provider set to Microsoft: 3 (dry run)");
    expect(human.stdout).toContain(`Would change the provider of ${c.userPrincipalName}`);
    expect(human.stdout).toContain(`Would change the provider of ${d.userPrincipalName}`);
    expect(human.stdout).toContain("retrieving user x\\x1b[2Jy\\x9b\\u202e@contoso.com:");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no escape sequence may reach the terminal.
    const unsafe = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
    expect(human.stdout).not.toMatch(unsafe);

    const json = await cli(["conferencing", "move-to-microsoft", "--csv", "one-line.csv", "--dry-run", "--json"]);
    expect(json.code, show(json)).toBe(1);
    expect(parsed<BulkJson>(json).results.map((r) => [r.identity, r.outcome])).toEqual([
      [c.userPrincipalName, "changed"],
      [d.userPrincipalName, "changed"],
      [evil, "not-found"],
    ]);

    const shown = await cli(["users", "show", "\u001b]0;pwned\u0007"]);
    expect(shown.code, show(shown)).not.toBe(0);
    expect(shown.stderr).toContain("\\x1b]0;pwned\\x07");
    expect(shown.stderr).not.toMatch(unsafe);

    writeFileSync(path.join(dir, "latin1.csv"), Buffer.from("UserPrincipalName\r\nzoë@contoso.com\r\n", "latin1"));
    const latin1 = await cli(["conferencing", "move-to-microsoft", "--csv", "latin1.csv", "--dry-run"]);
    expect(latin1.code, show(latin1)).toBe(2);
    expect(latin1.stderr).toContain("latin1.csv is not UTF-8 text: it looks like Latin-1 (ISO-8859-1) or Windows-1252");
    expect(latin1.stderr).toContain("iconv -f WINDOWS-1252 -t UTF-8 latin1.csv > latin1-utf8.csv");
  });

  it("jobs results --csv --output writes the results with an error column", async () => {
    const ran = await cli(["jobs", "results", listJob, "--csv", "--output", "f.csv"]);
    expect(ran.code, show(ran)).toBe(0);
    expect(ran.stdout).toContain("Wrote 3 results to f.csv.");
    const file = path.join(dir, "f.csv");
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, "utf8").split("\r\n");
    expect(lines[0]).toBe("seq,identity,user_id,outcome,changed,message,error,processed_at,notice");
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(
      new RegExp(`^1,${listed[0].userPrincipalName},${listed[0].id},changed,true,The provider .*,,\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z,$`),
    );
    expect(lines[3]).toMatch(
      /^3,nobody@x,,not-found,false,,"There was an error while retrieving user nobody@x: .+",\d{4}-\d\d-\d\dT[\d:.]+Z,$/,
    );
  });

  it("conferencing restore --job undoes the job", async () => {
    const ran = await cli(["conferencing", "restore", "--job", listJob, "--json"]);
    expect(ran.code, show(ran)).toBe(0);
    const report = parsed<BulkJson>(ran);
    expect(report.job).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.job).not.toBe(listJob);
    expect(report.summary).toEqual({ changed: 2, unchanged: 0, failed: 0 });
    expect(report.results.map((r) => [r.identity, r.outcome])).toEqual(listed.map((u) => [u.userPrincipalName, "restored"]));
    expect(report.results[0]?.message).toBe(`Restored ${listed[0].userPrincipalName} to PGi.`);
  });

  it("audit list shows who did it: the local user", async () => {
    const ran = await cli(["audit", "list", "--limit", "100", "--json"]);
    expect(ran.code, show(ran)).toBe(0);
    const events = parsed<AuditEvent[]>(ran);
    const ours = events.filter((e) => e.operation.startsWith("conferencing."));
    // Enable one user, move two by list and two by CSV, restore the two of the list.
    expect(ours.map((e) => e.operation).sort()).toEqual([
      ...Array(5).fill("conferencing.enable"),
      ...Array(2).fill("conferencing.restore"),
    ]);
    // The CLI on the store itself is the local operator, named in every event, demo build included.
    expect(events.every((e) => e.actor === actor && e.source === "cli:in-process")).toBe(true);
    expect(ran.stdout).not.toMatch(/pinHash|pin_hash|hmac-sha256\$|"pin":/);
  });

  it("the data folder is locked while a server runs: the CLI says to use --server, and --server works", async () => {
    // Over HTTP the CLI needs an API token: one made on the store itself before the server starts.
    const made = await cli(["tokens", "create", "cli-test", "--role", "global-admin", "--json"]);
    expect(made.code, show(made)).toBe(0);
    const token = parsed<{ token: string }>(made).token;
    const desk = await cli(["tokens", "create", "desk", "--role", "helpdesk", "--json"]);
    const helpdesk = parsed<{ token: string }>(desk).token;
    const account = await cli(["accounts", "create", "ops", "--role", "reader", "--json"]);
    expect(account.code, show(account)).toBe(0);
    const password = parsed<{ oneTimePassword: string }>(account).oneTimePassword;
    const port = await freePort();
    const url = await startServer(port);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const [a] = listed;
    const args = ["users", "show", a.userPrincipalName, "--json"];
    const [locked, through, nothingToRestore, noToken, signedIn, pinReset, notAllowed] = await Promise.all([
      cli(args),
      cli(["--server", url, "--token", token, ...args]),
      cli(["--server", url, "--token", token, "conferencing", "restore"]),
      cli(["--server", url, ...args]),
      cli(["--server", url, "--username", "ops", "whoami", "--json"], 45_000, { CALLPLANE_PASSWORD: password }),
      cli(["--server", url, "--token", helpdesk, "conferencing", "reset-pin", replaced.userPrincipalName, "--json"]),
      cli(["--server", url, "--token", helpdesk, "conferencing", "set", replaced.userPrincipalName, "--reset-pin"]),
    ]);
    // The account chooses its own password, then signs in with it.
    const changed = await cli(["--server", url, "--username", "ops", "password"], 45_000, {
      CALLPLANE_PASSWORD: password,
      CALLPLANE_NEW_PASSWORD: "ops chose this one",
    });
    expect(changed.code, show(changed)).toBe(0);
    const withNew = await cli(["--server", url, "--username", "ops", "whoami"], 45_000, { CALLPLANE_PASSWORD: "ops chose this one" });
    expect(withNew.code, show(withNew)).toBe(0);
    expect(withNew.stdout).toContain("account");
    // The helpdesk resets a PIN (shown once), and may change nothing else.
    expect(pinReset.code, show(pinReset)).toBe(0);
    expect(parsed<{ pin: string }>(pinReset).pin).toMatch(/^\d{5}$/);
    expect(notAllowed.code, show(notAllowed)).toBe(2);
    expect(notAllowed.stderr).toContain("needs the permission conferencing.write");
    // An account signs in with its password; a one-time password still shows who it is.
    expect(signedIn.code, show(signedIn)).toBe(0);
    expect(parsed<{ kind: string; name: string; role: string }>(signedIn)).toMatchObject({ kind: "account", name: "ops", role: "reader" });
    // Without a token the server refuses, saying how to get in; the local operator exists only in-process.
    expect(noToken.code, show(noToken)).toBe(2);
    expect(parsed<{ error: { code: string; message: string } }>(noToken).error.code).toBe("unauthenticated");
    expect(locked.code, show(locked)).toBe(2);
    const error = parsed<{ error: { code: string; message: string } }>(locked).error;
    expect(error.code).toBe("store_in_use");
    expect(error.message).toContain(`--server ${url}`);
    expect(through.code, show(through)).toBe(0);
    const user = parsed<UserView>(through);
    expect(user.userPrincipalName).toBe(a.userPrincipalName);
    expect(user.provider).toEqual({ kind: "third-party", name: "PGi" });
    // A bad invocation is exit 2, wherever the store is.
    expect(nothingToRestore.code, show(nothingToRestore)).toBe(2);
    expect(nothingToRestore.stderr).toContain("Say what to restore: a user identity, or --job ID.");

    // Tokens are listed without their secret, and a revoked one stops working at once.
    const listedTokens = await cli(["--server", url, "--token", token, "tokens", "list", "--json"]);
    expect(listedTokens.code, show(listedTokens)).toBe(0);
    const mine = parsed<{ id: string; name: string; revokedAt: string | null }[]>(listedTokens).find((t) => t.name === "cli-test");
    expect(mine?.revokedAt).toBeNull();
    expect(listedTokens.stdout).not.toContain(token.slice(-43));
    const revoked = await cli(["--server", url, "--token", token, "tokens", "revoke", mine?.id ?? ""]);
    expect(revoked.stdout).toContain(`Revoked the API token cli-test (${mine?.id}).`);
    const after = await cli(["--server", url, "--token", token, "whoami"]);
    expect(after.code, show(after)).toBe(2);
    expect(after.stderr).toContain("was revoked");
    // Eleven real processes, seven of them at once, and several scrypt hashes: minutes on a loaded two-core machine.
  }, 180_000);
});
