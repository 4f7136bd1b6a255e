import { sql } from "drizzle-orm";
import type { MailTransport } from "../notify/transport.ts";
import type { Db } from "../store/db.ts";
import { translateError } from "./errors.ts";

/** What every service operation runs with: the store (or a transaction on it), the tenant and who acts. */
export interface Ctx {
  db: Db;
  tenantId: string;
  /** The principal, recorded in the audit log: `account:NAME`, `token:NAME/ID`, `local:alice` (the CLI on the store itself). */
  actor: string;
  /** Where the request came from, recorded in the audit log: `ip:ADDRESS`, `cli:in-process`; `internal` when unsaid. */
  source?: string;
  /** What the principal may do (from its role); undefined for internal work, which may do anything. */
  permissions?: ReadonlySet<string>;
  env: AppEnv;
}

/** Process-wide settings services need but must not read from the environment themselves. */
export interface AppEnv {
  /** Where emails are written as .eml files until a transport exists. */
  outboxDir: string;
  /** Key for PIN hashes; held by the server, not derivable from the store alone when set from the environment. */
  pinKey: Buffer;
  /** Unique per process, so a job can tell its own runner from a dead one. */
  runnerId: string;
  /** True when this process holds the only connection to the store (the embedded engine). */
  exclusiveStore: boolean;
  /** Where the outbox delivers: a mail server, or .eml files. */
  mail?: MailTransport;
}

/**
 * Runs `fn` in a transaction, with a context bound to it; database errors come out as domain errors.
 * The transaction-local setting `callplane.source` names where the request came from, so every
 * audit event written in it records the source, even by statements that do not name it.
 */
export async function inTransaction<T>(ctx: Ctx, fn: (tx: Ctx) => Promise<T>): Promise<T> {
  try {
    return await ctx.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('callplane.source', ${ctx.source ?? "internal"}, true)`);
      return fn({ ...ctx, db: tx as unknown as Db });
    });
  } catch (err) {
    throw translateError(err);
  }
}
