import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import type { AppEnv, Ctx } from "./core/context.ts";
import { AppError } from "./core/errors.ts";
import { leaseSeconds } from "./jobs/jobs.service.ts";
import { mailIdle } from "./notify/outbox.service.ts";
import { emlTransport, type SmtpSettings, smtpTransport } from "./notify/transport.ts";
import { makePrivate, openStore, rows, type Store, type StoreOptions } from "./store/db.ts";
import { resolveTenant } from "./tenancy/tenant.service.ts";
// Job kinds register themselves when their module loads.
import "./conferencing/move-to-microsoft.service.ts";
import "./conferencing/restore-job.service.ts";

/** An open store and the process settings services run with. */
export interface Runtime {
  store: Store;
  env: AppEnv;
  /** What opening found that the operator must hear about (also written to stderr, or to `warn`). */
  warnings: string[];
  /** A service context for a tenant (by name, domain or id; the only one when omitted), an actor and where it acts from. */
  ctx(tenant: string | undefined, actor: string, source?: string): Promise<Ctx>;
  close(): Promise<void>;
}

export interface RuntimeOptions extends StoreOptions {
  outboxDir?: string;
  /**
   * The file that holds the PIN key (owner-only). Default: CALLPLANE_PIN_KEY_FILE, else `pin.key` in the
   * data folder (with PostgreSQL too: `.callplane/pin.key` unless another data folder is named).
   * CALLPLANE_PIN_KEY, when set, is used instead of any file.
   */
  pinKeyFile?: string;
  /** Where warnings go as they are found; default: stderr. */
  warn?: (message: string) => void;
  /** Deliver mail to this SMTP server; default: CALLPLANE_SMTP_URL, else .eml files in the outbox folder. */
  smtp?: SmtpSettings;
}

/** The SMTP settings the environment gives (CALLPLANE_SMTP_URL, CALLPLANE_SMTP_PASSWORD), if any. */
export function smtpFromEnv(): SmtpSettings | undefined {
  const url = process.env.CALLPLANE_SMTP_URL;
  return url ? { url, password: process.env.CALLPLANE_SMTP_PASSWORD } : undefined;
}

/** The `secrets` row that tells the right PIN key from a wrong one; never the key itself. */
const KEY_CHECK = "pin-key-check";
/** Where versions before the key file kept the key. */
const LEGACY_KEY = "pin-key";

function keyCheck(key: Buffer): string {
  return createHmac("sha256", key).update("callplane: the PIN key of this store").digest("base64");
}

function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = Buffer.from(t, /^[0-9a-f]+$/i.test(t) ? "hex" : "base64");
  if (key.length < 16) throw new AppError("invalid_input", `${where} is too short: give at least 16 random bytes, hex or base64.`);
  return key;
}

async function secret(store: Store, name: string): Promise<string | undefined> {
  const [row] = await rows<{ value: string }>(store.db, sql`select value from secrets where name = ${name}`);
  return row?.value;
}

/** The key in the file, or undefined when there is no file; says loudly when others can read it. */
function readKeyFile(file: string, warn: (m: string) => void): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new AppError("unavailable", `The PIN key file ${file} cannot be read (${code ?? String(err)}): give this process access to it.`);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warn(
      `WARNING: the PIN key file ${file} is readable by other users (mode ${mode.toString(8)}): with it and a copy of the store, PINs can be recovered. Run \`chmod 600 ${file}\`.`,
    );
  }
  return parseKey(text, `The PIN key in ${file}`);
}

/** Writes a new key file, owner-only, complete or not at all; false when one appeared meanwhile. */
function writeKeyFile(file: string, key: Buffer): boolean {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, `${key.toString("base64")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // A link never replaces a file: two processes creating a key at once keep the first one's.
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function defaultKeyFile(store: Store, opts: RuntimeOptions): string | undefined {
  const named = opts.pinKeyFile ?? process.env.CALLPLANE_PIN_KEY_FILE;
  if (named) return path.resolve(named);
  if (store.kind === "pglite") return store.location === "memory://" ? undefined : path.join(store.location, "pin.key");
  return path.resolve(opts.dataDir && opts.dataDir !== "memory://" ? opts.dataDir : ".callplane", "pin.key");
}

/**
 * The PIN key: CALLPLANE_PIN_KEY when set, otherwise the key file (made on first start, owner-only);
 * never kept in the store, which holds only a check that tells a wrong key from the right one. A key
 * an older version kept in the store is moved out to the file. A store whose PINs were hashed with a
 * key that cannot be found is refused rather than given a new key, which would break every PIN.
 */
async function pinKey(store: Store, opts: RuntimeOptions, warn: (m: string) => void): Promise<Buffer> {
  const fromEnv = process.env.CALLPLANE_PIN_KEY;
  const file = fromEnv ? undefined : defaultKeyFile(store, opts);
  if (!fromEnv && !file) return randomBytes(32); // an in-memory store lives and dies with this process
  const check = await secret(store, KEY_CHECK);
  const legacyText = await secret(store, LEGACY_KEY);
  const legacy = legacyText ? parseKey(legacyText, "The PIN key in the store") : undefined;
  const recordCheck = async (key: Buffer) => {
    await store.db.execute(sql`insert into secrets (name, value) values (${KEY_CHECK}, ${keyCheck(key)}) on conflict (name) do nothing`);
    return (await secret(store, KEY_CHECK)) === keyCheck(key);
  };
  const wrongKey = (where: string) =>
    new AppError(
      "invalid_input",
      `The PIN key in ${where} is not the key this store's PINs were hashed with: give the right one (restore the key file from your backup, or set CALLPLANE_PIN_KEY); with this one no PIN would verify.`,
    );

  if (fromEnv) {
    const key = parseKey(fromEnv, "CALLPLANE_PIN_KEY");
    if (check ? check !== keyCheck(key) : !(await recordCheck(key))) throw wrongKey("CALLPLANE_PIN_KEY");
    return key;
  }
  if (!file) throw new AppError("internal", "No PIN key file.");

  const fromFile = readKeyFile(file, warn);
  if (fromFile) {
    if (check && check !== keyCheck(fromFile)) throw wrongKey(file);
    if (!check && legacy && !legacy.equals(fromFile)) throw wrongKey(`${file} differs from the one in the store, and`);
    if (!check) await recordCheck(fromFile);
    // A move from the store that stopped before its last step.
    if (legacy?.equals(fromFile)) await store.db.execute(sql`delete from secrets where name = ${LEGACY_KEY}`);
    return fromFile;
  }

  if (legacy) {
    if (check && check !== keyCheck(legacy)) throw wrongKey("the store");
    try {
      if (!writeKeyFile(file, legacy)) return pinKey(store, opts, warn);
    } catch (err) {
      warn(
        `WARNING: the PIN key is kept in the store (table secrets), beside the PIN hashes it protects: ${file} could not be written (${(err as NodeJS.ErrnoException).code ?? String(err)}). Give a writable place with --pin-key-file (or CALLPLANE_PIN_KEY_FILE), or set CALLPLANE_PIN_KEY, and start again to move it there.`,
      );
      return legacy;
    }
    await recordCheck(legacy);
    await store.db.execute(sql`delete from secrets where name = ${LEGACY_KEY}`);
    warn(
      `The PIN key was moved out of the store into ${file} (owner-only) and removed from the store. Back this file up with the store: without it no PIN can be verified.`,
    );
    return legacy;
  }

  const [hashes] = await rows<{ any: boolean }>(
    store.db,
    sql`select exists (select 1 from dial_in_users where pin_hash is not null)
          or exists (select 1 from archives where data #>> '{dialIn,pinHash}' is not null) as any`,
  );
  if (check || hashes?.any) {
    throw new AppError(
      "invalid_input",
      `The PIN key file ${file} does not exist, and this store's PINs were hashed with a key: restore the file from your backup (or set CALLPLANE_PIN_KEY, or name the file with --pin-key-file / CALLPLANE_PIN_KEY_FILE). A new key would make every PIN unusable, so none is made.`,
    );
  }
  const key = randomBytes(32);
  try {
    if (!writeKeyFile(file, key)) return pinKey(store, opts, warn);
  } catch (err) {
    throw new AppError(
      "unavailable",
      `The PIN key file ${file} cannot be written (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a writable place with --pin-key-file (or CALLPLANE_PIN_KEY_FILE), or set CALLPLANE_PIN_KEY.`,
    );
  }
  if (!(await recordCheck(key))) {
    rmSync(file, { force: true });
    throw new AppError(
      "unavailable",
      `Another Callplane process made this store's PIN key first: copy its key file to ${file} (or set CALLPLANE_PIN_KEY to the same key) and start again.`,
    );
  }
  if (store.kind === "postgres") {
    warn(
      `Created the PIN key file ${file} (owner-only). Back it up with the database, and give every API node a copy: without it no PIN can be verified.`,
    );
  }
  return key;
}

export async function openRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    if (opts.warn) opts.warn(message);
    else process.stderr.write(`${message}\n`);
  };
  // A runner stalled inside a batch loses its session after two leases, so another node can take the job over.
  const store = await openStore({ idleTransactionTimeoutMs: Math.max(10, 2 * leaseSeconds()) * 1000, ...opts });
  try {
    for (const notice of store.notices) warn(`WARNING: ${notice}`);
    const outboxDir =
      opts.outboxDir ??
      (store.kind === "pglite" && store.location !== "memory://" ? path.join(store.location, "outbox") : path.resolve("outbox"));
    // Emails hold PINs: an outbox an older version or an administrator left open is made private.
    if (existsSync(outboxDir))
      for (const notice of makePrivate(outboxDir, "The outbox folder", "emails with PINs")) warn(`WARNING: ${notice}`);
    const smtp = opts.smtp ?? smtpFromEnv();
    const env: AppEnv = {
      outboxDir,
      pinKey: await pinKey(store, opts, warn),
      runnerId: randomUUID(),
      exclusiveStore: store.kind === "pglite",
      mail: smtp ? smtpTransport(smtp) : emlTransport(outboxDir),
    };
    return {
      store,
      env,
      warnings,
      async ctx(tenant, actor, source) {
        const t = await resolveTenant(store.db, tenant);
        return { db: store.db, tenantId: t.id, actor, source: source ?? "internal", env };
      },
      close: async () => {
        // What this process's changes queued leaves before it closes (bounded: a dead mail server
        // leaves the messages deferred in the outbox, for the server's worker or `mail retry`).
        await mailIdle(env);
        env.mail?.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
