// npm run bench:acp — the bulk move to Microsoft against the seed script's one-user-at-a-time way,
// measured in the same run on this machine. Figures vary between runs; the ratio is what to compare.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const users = Number(process.env.BENCH_USERS ?? 100_000);
const sampleSize = Number(process.env.BENCH_SAMPLE ?? 2_000);
const work = mkdtempSync(path.join(os.tmpdir(), "callplane-bench-acp-"));
const dataDir = path.join(work, "data");
const outboxDir = path.join(work, "outbox");
const sampleFile = path.join(work, "sample.txt");
const cli = path.join(root, "bin", "callplane.mjs");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const int = (n: number) => Math.round(n).toLocaleString("en-US");

function runOrDie(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: work, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${r.status}`);
  }
  return r.stdout;
}

async function main(): Promise<void> {
  console.log(
    `Callplane bench:acp — embedded store (PGlite), ${int(users)}-user demo tenant, ${os.cpus().length} cores, Node ${process.version}`,
  );

  let t = performance.now();
  runOrDie(process.execPath, [cli, "--data", dataDir, "demo", "--users", String(users), "--seed", "1"]);
  console.log(`setup      demo tenant built in ${fmt((performance.now() - t) / 1000)} s (not part of the figures below)`);

  const bulk = JSON.parse(
    runOrDie(tsx, [path.join(root, "bench", "acp-bulk.ts"), dataDir, outboxDir, sampleFile, String(sampleSize)])
      .trim()
      .split("\n")
      .pop() ?? "{}",
  ) as {
    users: number;
    changed: number;
    failed: number;
    moveMs: number;
    moveRssMb: number;
    restored: number;
    restoreMs: number;
  };
  const bulkRate = bulk.changed / (bulk.moveMs / 1000);
  console.log(
    `bulk       ${int(bulk.changed)} licensed third-party users moved to Microsoft (CSV input, emails written, archived, audited) in ${fmt(bulk.moveMs / 1000, 2)} s = ${int(bulkRate)} users/s; peak RSS ${int(bulk.moveRssMb)} MB`,
  );
  console.log(`           at this rate 100,000 users take ${fmt(100_000 / bulkRate, 1)} s (target ≤ 20 s); peak RSS target ≤ 1,536 MB`);
  console.log(
    `undo       restore of that job: ${int(bulk.restored)} users back to their provider in ${fmt(bulk.restoreMs / 1000, 2)} s = ${int(bulk.restored / (bulk.restoreMs / 1000))} users/s`,
  );

  // The seed's script: for each user, Get-CsOnlineUser then Enable-CsOnlineDialInConferencingUser -ReplaceProvider,
  // here as GET /users/{id} then POST /conferencing/users/{id}/enable against a real server on loopback.
  // The API asks who is calling: a token for a conferencing administrator, as a script would hold.
  const { token } = JSON.parse(
    runOrDie(process.execPath, [cli, "--data", dataDir, "tokens", "create", "bench-one-by-one", "--role", "conferencing-admin", "--json"]),
  ) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    process.execPath,
    [cli, "--data", dataDir, "--outbox", outboxDir, "serve", "--port", String(port), "--demo-users", "0"],
    {
      cwd: work,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening")) resolve();
    });
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  const sample = readFileSync(sampleFile, "utf8").split("\n").filter(Boolean);
  const base = `http://127.0.0.1:${port}/api/v1`;
  let changed = 0;
  t = performance.now();
  for (const upn of sample) {
    const id = encodeURIComponent(upn);
    const got = await fetch(`${base}/users/${id}`, { headers: auth });
    if (!got.ok) throw new Error(`GET /users/${upn} answered ${got.status}: ${await got.text()}`);
    const user = (await got.json()) as {
      audioConferencingLicensed: boolean;
      provider: { name: string | null };
    };
    if (!user.audioConferencingLicensed || user.provider.name === "Microsoft") continue;
    const res = await fetch(`${base}/conferencing/users/${id}/enable`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ replaceProvider: true }),
    });
    if (!res.ok) throw new Error(`POST /conferencing/users/${upn}/enable answered ${res.status}: ${await res.text()}`);
    changed++;
  }
  const oneMs = performance.now() - t;
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
  const oneRate = changed / (oneMs / 1000);
  console.log(
    `one by one ${int(changed)} users through the REST API, one GET and one enable each (the seed script's way), in ${fmt(oneMs / 1000, 2)} s = ${int(oneRate)} users/s`,
  );
  console.log(`ratio      bulk / one-by-one = ${fmt(bulkRate / oneRate, 1)}× (target ≥ 20×)`);
  const ok = bulk.changed > 0 && 100_000 / bulkRate <= 20 && bulk.moveRssMb <= 1536 && bulkRate / oneRate >= 20;
  console.log(`targets    ${ok ? "met" : "NOT met"}`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  rmSync(work, { recursive: true, force: true });
  console.error(err);
  process.exit(1);
});
