// What the embedded store leaves on disk: the data folder and everything in it are the owner's only
// (a local user once read the PIN key and the PIN hashes from a world-readable WAL), an older folder
// is made private on start, and the PIN key lives in an owner-only key file, never in the store.
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openRuntime, type Runtime, type RuntimeOptions } from "../src/runtime.ts";
import { openStore, rows } from "../src/store/db.ts";
import { createTenant } from "../src/tenancy/tenant.service.ts";
import { createTestDatabase, itOnPostgres } from "./support/store.ts";

let root: string;
const savedKey = process.env.CALLPLANE_PIN_KEY;
const savedKeyFile = process.env.CALLPLANE_PIN_KEY_FILE;
const open: Runtime[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "callplane-files-"));
  delete process.env.CALLPLANE_PIN_KEY;
  delete process.env.CALLPLANE_PIN_KEY_FILE;
});
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});
afterAll(() => {
  if (savedKey !== undefined) process.env.CALLPLANE_PIN_KEY = savedKey;
  if (savedKeyFile !== undefined) process.env.CALLPLANE_PIN_KEY_FILE = savedKeyFile;
  rmSync(root, { recursive: true, force: true });
});

let seq = 0;
function freshDir(): string {
  seq++;
  return path.join(root, `data${seq}`);
}

const warnings: string[] = [];
async function start(dataDir: string, extra: Partial<RuntimeOptions> = {}): Promise<Runtime> {
  const rt = await openRuntime({ dataDir, holder: "the security test", warn: (m) => warnings.push(m), ...extra });
  open.push(rt);
  return rt;
}
async function stop(rt: Runtime): Promise<void> {
  open.splice(open.indexOf(rt), 1);
  await rt.close();
}

/** Every folder and file under `dir` (itself included) whose mode gives anything to group or others. */
function notPrivate(dir: string): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) out.push(`${path.relative(dir, p) || "."} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(path.join(p, e));
  };
  visit(dir);
  return out;
}

function countFiles(dir: string): number {
  let n = 0;
  const visit = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) visit(path.join(p, e.name));
      else n++;
    }
  };
  visit(dir);
  return n;
}

/** Enough writes to fill WAL segments and make the engine switch, recycle and create them. */
async function churn(rt: Runtime): Promise<void> {
  await rt.store.db.execute(sql`create table if not exists churn (x text)`);
  for (let i = 0; i < 3; i++) {
    await rt.store.db.execute(sql`insert into churn select repeat('x', 1000) from generate_series(1, 20000)`);
    await rt.store.db.execute(sql`select pg_switch_wal()`);
    await rt.store.db.execute(sql`checkpoint`);
  }
}

describe("the data folder", () => {
  it("is created 0700 with every file in it owner-only, and stays so after writes fill the WAL", async () => {
    const dir = freshDir();
    const rt = await start(dir);
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(notPrivate(dir)).toEqual([]);
    await createTenant(rt.store.db, { name: "Files", domain: "files.example.com" });
    await churn(rt);
    expect(readdirSync(path.join(dir, "pgdata", "pg_wal")).filter((f) => /^[0-9A-F]{24}$/.test(f)).length).toBeGreaterThan(0);
    expect(notPrivate(dir)).toEqual([]);
    await stop(rt);
    expect(notPrivate(dir)).toEqual([]);
    expect(countFiles(dir)).toBeGreaterThan(100);
  });

  it("made private on start when an older version left it 0755 with world-writable files", async () => {
    const dir = freshDir();
    const first = await start(dir);
    await stop(first);
    // What earlier versions left behind: a 0755 folder, 0666 store files, a readable outbox.
    mkdirSync(path.join(dir, "outbox"), { recursive: true });
    writeFileSync(path.join(dir, "outbox", "old.eml"), "PIN: 12345\r\n");
    const loosen = (p: string) => {
      const st = lstatSync(p);
      chmodSync(p, st.isDirectory() ? 0o755 : 0o666);
      if (st.isDirectory()) for (const e of readdirSync(p)) loosen(path.join(p, e));
    };
    loosen(dir);
    expect(notPrivate(dir).length).toBeGreaterThan(100);

    const before = warnings.length;
    const rt = await start(dir);
    expect(notPrivate(dir)).toEqual([]);
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(warnings.slice(before).join("\n")).toMatch(/readable by other users.*made private/s);
    await stop(rt);
  });

  it("keeps an outbox folder elsewhere owner-only too", async () => {
    const dir = freshDir();
    const outbox = path.join(root, `outbox${seq}`);
    mkdirSync(outbox, { mode: 0o755 });
    chmodSync(outbox, 0o755);
    writeFileSync(path.join(outbox, "a.eml"), "PIN: 12345\r\n", { mode: 0o644 });
    chmodSync(path.join(outbox, "a.eml"), 0o644);
    await start(dir, { outboxDir: outbox });
    expect(notPrivate(outbox)).toEqual([]);
  });
});

describe("the PIN key", () => {
  const keyRows = async (rt: Runtime) =>
    rows<{ name: string; value: string }>(rt.store.db, sql`select name, value from secrets where name = 'pin-key'`);

  it("is kept in an owner-only key file beside the store, never in the store's secrets table", async () => {
    const dir = freshDir();
    const rt = await start(dir);
    const file = path.join(dir, "pin.key");
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, "utf8").trim(), "base64").equals(rt.env.pinKey)).toBe(true);
    expect(rt.env.pinKey.length).toBe(32);
    expect(await keyRows(rt)).toEqual([]);
    // Nothing the store holds is the key, in any spelling.
    const all = await rows<{ value: string }>(rt.store.db, sql`select value from secrets`);
    for (const r of all) {
      expect(r.value).not.toContain(rt.env.pinKey.toString("base64"));
      expect(r.value).not.toContain(rt.env.pinKey.toString("hex"));
    }
    const key = Buffer.from(rt.env.pinKey);
    await stop(rt);
    const again = await start(dir);
    expect(again.env.pinKey.equals(key)).toBe(true);
  });

  it("moves a key an older version kept in the store out to the key file, and keeps it", async () => {
    const dir = freshDir();
    const rt = await start(dir);
    await stop(rt);
    // An installation from before: the key in the secrets table and no key file.
    rmSync(path.join(dir, "pin.key"));
    const oldKey = Buffer.alloc(32, 7);
    const old = await openStore({ dataDir: dir });
    await old.db.execute(sql`delete from secrets`);
    await old.db.execute(sql`insert into secrets (name, value) values ('pin-key', ${oldKey.toString("base64")})`);
    await old.close();

    const before = warnings.length;
    const moved = await start(dir);
    expect(moved.env.pinKey.equals(oldKey)).toBe(true);
    expect(await keyRows(moved)).toEqual([]);
    expect(lstatSync(path.join(dir, "pin.key")).mode & 0o777).toBe(0o600);
    expect(warnings.slice(before).join("\n")).toContain(path.join(dir, "pin.key"));
    await stop(moved);
    const again = await start(dir);
    expect(again.env.pinKey.equals(oldKey)).toBe(true);
  });

  it("refuses to start with a new key when the key file of a store is lost, rather than break every PIN", async () => {
    const dir = freshDir();
    const rt = await start(dir);
    await stop(rt);
    rmSync(path.join(dir, "pin.key"));
    await expect(start(dir)).rejects.toThrow(/pin\.key/);
    expect(existsSync(path.join(dir, "pin.key"))).toBe(false);
  });

  it("refuses a key file that holds another key than the one the store's PINs were made with", async () => {
    const dir = freshDir();
    const rt = await start(dir);
    await stop(rt);
    writeFileSync(path.join(dir, "pin.key"), `${Buffer.alloc(32, 9).toString("base64")}\n`, { mode: 0o600 });
    await expect(start(dir)).rejects.toThrow(/not the key/);
  });

  it("says loudly when a key file the administrator named is readable by other users", async () => {
    const dir = freshDir();
    const file = path.join(root, `shared${seq}.key`);
    writeFileSync(file, `${Buffer.alloc(32, 3).toString("base64")}\n`);
    chmodSync(file, 0o644);
    const before = warnings.length;
    const rt = await start(dir, { pinKeyFile: file });
    expect(rt.env.pinKey.equals(Buffer.alloc(32, 3))).toBe(true);
    expect(rt.warnings.join("\n")).toMatch(/PIN key.*readable by other users/s);
    expect(warnings.slice(before).join("\n")).toMatch(/chmod 600/);
  });

  it("takes CALLPLANE_PIN_KEY over any file, writing none", async () => {
    const dir = freshDir();
    process.env.CALLPLANE_PIN_KEY = Buffer.alloc(32, 5).toString("hex");
    try {
      const rt = await start(dir);
      expect(rt.env.pinKey.equals(Buffer.alloc(32, 5))).toBe(true);
      expect(existsSync(path.join(dir, "pin.key"))).toBe(false);
      expect(rt.warnings).toEqual([]);
    } finally {
      delete process.env.CALLPLANE_PIN_KEY;
    }
  });

  itOnPostgres(
    "with PostgreSQL: lives in the key file, and a node without that file is refused rather than given another key",
    async () => {
      const db = await createTestDatabase("cp_keys");
      const url = new URL(db.url);
      try {
        const file = path.join(root, `node1-${seq}`, "pin.key");
        const node1 = await start(freshDir(), { databaseUrl: url.toString(), pinKeyFile: file });
        expect(lstatSync(file).mode & 0o777).toBe(0o600);
        expect(await keyRows(node1)).toEqual([]);
        expect(node1.warnings.join("\n")).toContain(file);
        const key = Buffer.from(node1.env.pinKey);
        await stop(node1);
        const other = path.join(root, `node2-${seq}`, "pin.key");
        await expect(start(freshDir(), { databaseUrl: url.toString(), pinKeyFile: other })).rejects.toThrow(/does not exist/);
        expect(existsSync(other)).toBe(false);
        const again = await start(freshDir(), { databaseUrl: url.toString(), pinKeyFile: file });
        expect(again.env.pinKey.equals(key)).toBe(true);
        await stop(again);
      } finally {
        await db.drop();
      }
    },
  );
});
