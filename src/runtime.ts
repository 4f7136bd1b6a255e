import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { sql } from "drizzle-orm";
import type { AppEnv, Ctx } from "./core/context.ts";
import { AppError } from "./core/errors.ts";
import { openStore, rows, type Store, type StoreOptions } from "./store/db.ts";
import { resolveTenant } from "./tenancy/tenant.service.ts";
// Job kinds register themselves when their module loads.
import "./conferencing/move-to-microsoft.service.ts";
import "./conferencing/restore-job.service.ts";

/** An open store and the process settings services run with. */
export interface Runtime {
  store: Store;
  env: AppEnv;
  /** A service context for a tenant (by name, domain or id; the only one when omitted), an actor and where it acts from. */
  ctx(tenant: string | undefined, actor: string, source?: string): Promise<Ctx>;
  close(): Promise<void>;
}

export interface RuntimeOptions extends StoreOptions {
  outboxDir?: string;
}

/** The PIN key: from CALLPLANE_PIN_KEY when set (recommended), otherwise generated once and kept in the store. */
async function pinKey(store: Store): Promise<Buffer> {
  const fromEnv = process.env.CALLPLANE_PIN_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, /^[0-9a-f]+$/i.test(fromEnv) ? "hex" : "base64");
    if (key.length < 16)
      throw new AppError("invalid_input", "CALLPLANE_PIN_KEY is too short: give at least 16 random bytes, hex or base64.");
    return key;
  }
  await store.db.execute(
    sql`insert into secrets (name, value) values ('pin-key', ${randomBytes(32).toString("base64")}) on conflict (name) do nothing`,
  );
  const [row] = await rows<{ value: string }>(store.db, sql`select value from secrets where name = 'pin-key'`);
  if (!row) throw new AppError("internal", "The PIN key could not be read.");
  return Buffer.from(row.value, "base64");
}

export async function openRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const store = await openStore(opts);
  try {
    const env: AppEnv = {
      outboxDir:
        opts.outboxDir ??
        (store.kind === "pglite" && store.location !== "memory://" ? path.join(store.location, "outbox") : path.resolve("outbox")),
      pinKey: await pinKey(store),
      runnerId: randomUUID(),
      exclusiveStore: store.kind === "pglite",
    };
    return {
      store,
      env,
      async ctx(tenant, actor, source) {
        const t = await resolveTenant(store.db, tenant);
        return { db: store.db, tenantId: t.id, actor, source: source ?? "internal", env };
      },
      close: () => store.close(),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
