import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ensureFirstAdmin } from "../auth/auth.service.ts";
import { AppError } from "../core/errors.ts";
import { buildDemoTenant } from "../demo/demo.service.ts";
import { buildServer, httpLimits } from "../http/server.ts";
import { leaseSeconds, recoverOrphanedJobs, stopRunningJobs } from "../jobs/jobs.service.ts";
import { startMailWorker } from "../notify/outbox.service.ts";
import type { SmtpSettings } from "../notify/transport.ts";
import { openRuntime } from "../runtime.ts";
import { listTenants } from "../tenancy/tenant.service.ts";
import { catchUpProxies, catchUpSeconds, tenantsWithProxies } from "../voice/kamailio/publish.service.ts";
import { globals, int, printError } from "./cli.ts";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("Run the Callplane server (REST API, OpenAPI at /api/openapi.json)")
    .option(
      "--host <host>",
      "address to listen on (default 127.0.0.1: this machine only; put TLS in front before opening it wider)",
      "127.0.0.1",
    )
    .option("--port <port>", "port to listen on", int, 3000)
    .option("--demo-users <n>", "on a store with no tenant, build a demo tenant of this many users (0: none)", int, 2000)
    .option("--log", "log requests")
    .option(
      "--trust-proxy <addresses>",
      "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client (default: none)",
    )
    .option(
      "--pin-key-file <file>",
      "the file holding the PIN key, owner-only (default: CALLPLANE_PIN_KEY_FILE, else pin.key in the data folder; CALLPLANE_PIN_KEY wins over both)",
    )
    .option(
      "--request-timeout <seconds>",
      "time a client has to send a whole request, body included; slower ones are closed (408)",
      int,
      httpLimits.requestTimeoutMs / 1000,
    )
    .option("--max-connections <n>", "connections open at once; more are refused", int, httpLimits.maxConnections)
    .option(
      "--smtp <url>",
      "deliver mail to this SMTP server: smtp://[user@]host:port (STARTTLS when offered; ?starttls=required to insist) or smtps://host:port (default: CALLPLANE_SMTP_URL; without one, emails are written as .eml files to the outbox folder)",
    )
    .option(
      "--smtp-password-file <file>",
      "read the SMTP password from this file (or set CALLPLANE_SMTP_PASSWORD); never put it in the URL",
    )
    .option("--smtp-require-tls", "refuse to send unless the mail server offers STARTTLS")
    .option("--smtp-rate <n>", "send at most this many messages per second (0: no limit)", int, 0)
    .action(async (o, cmd: Command) => {
      const g = globals(cmd);
      const databaseUrl = process.env.DATABASE_URL;
      try {
        const runtime = await openRuntime({
          databaseUrl,
          dataDir: g.data ?? process.env.CALLPLANE_DATA ?? ".callplane",
          holder: "the Callplane server",
          outboxDir: g.outbox ?? process.env.CALLPLANE_OUTBOX,
          pinKeyFile: o.pinKeyFile,
          smtp: smtpSettings(o),
        });
        const mail = runtime.env.mail;
        if (mail?.describe.startsWith("eml:")) {
          process.stderr.write(
            `WARNING: emails are not delivered: they are written as .eml files to ${runtime.env.outboxDir} (owner-only), and those files contain PINs. Give --smtp smtp://host:port (or CALLPLANE_SMTP_URL) to deliver them to users.\n`,
          );
        } else if (mail) {
          // A mail server that is not there blocks nothing: messages wait in the outbox until it answers.
          const check = await mail.verify();
          process.stdout.write(
            check.ok
              ? `Delivering email to ${mail.describe}.\n`
              : `WARNING: the mail server ${mail.describe} does not answer (${check.error}): emails are kept in the outbox and delivered once it does (\`callplane mail list --status deferred\`).\n`,
          );
        }
        // The outbox's worker: delivers what is due (retries, and what a process that queued it could not send).
        const mailWorker = startMailWorker({ db: runtime.store.db, env: runtime.env });
        if (o.demoUsers > 0 && (await listTenants(runtime.store.db)).length === 0) {
          process.stdout.write(`Building a demo tenant of ${o.demoUsers} users…\n`);
          try {
            const demo = await buildDemoTenant(runtime.store.db, runtime.env, { users: o.demoUsers });
            process.stdout.write(`Demo tenant ${demo.tenant.name} (${demo.tenant.domain}) is ready.\n`);
          } catch (err) {
            // Nodes starting together on a fresh store: one builds the demo tenant, the others go on.
            if (!(err instanceof AppError && err.code === "duplicate")) throw err;
            process.stdout.write("Another node is building the demo tenant.\n");
          }
        }
        // First run: a global administrator, with a one-time password printed once (never a default one);
        // of nodes starting together, one creates it and prints it.
        const admin = await ensureFirstAdmin(runtime.store.db, process.env.CALLPLANE_ADMIN_PASSWORD || undefined);
        const trustProxy =
          typeof o.trustProxy === "string"
            ? o.trustProxy
                .split(",")
                .map((a: string) => a.trim())
                .filter(Boolean)
            : [];
        if (o.requestTimeout < 1 || o.maxConnections < 1) {
          throw new AppError("invalid_input", "--request-timeout and --max-connections take a whole number of at least 1.");
        }
        const limits = { requestTimeoutMs: o.requestTimeout * 1000, maxConnections: o.maxConnections };
        const app = await buildServer(runtime, { logger: o.log === true, trustProxy, limits });
        const address = await app.listen({ host: o.host, port: o.port });
        runtime.store.lock?.setServerUrl(address);
        // Every server takes over jobs whose runner is gone (killed mid-job, or its lease expired without renewal),
        // at start and then every half lease, so no job waits for a human to resume it.
        const recover = () =>
          recoverOrphanedJobs(runtime.store.db, runtime.env, (tenantId, actor) => runtime.ctx(tenantId, actor, "job-recovery"))
            .then((ids) => {
              for (const id of ids) process.stdout.write(`Took over job ${id}, whose runner was gone.\n`);
            })
            .catch((err) =>
              process.stderr.write(`callplane: looking for orphaned jobs failed: ${err instanceof Error ? err.message : String(err)}\n`),
            );
        void recover();
        const sweeper = setInterval(recover, Math.max(1000, (leaseSeconds() * 1000) / 2));
        sweeper.unref();
        // SIP proxies that missed a publish (down, or restarted with other tables) are brought to the latest
        // generation when they answer again.
        let catchingUp = false;
        const catchUp = async () => {
          if (catchingUp) return;
          catchingUp = true;
          try {
            for (const tenantId of await tenantsWithProxies(runtime.store.db)) {
              const done = await catchUpProxies(await runtime.ctx(tenantId, "system:sip-catch-up", "sip-catch-up")).catch(() => []);
              for (const p of done.filter((d) => d.ok))
                process.stdout.write(`SIP proxy ${p.name} brought to generation ${p.generation}.\n`);
            }
          } catch (err) {
            process.stderr.write(`callplane: checking the SIP proxies failed: ${err instanceof Error ? err.message : String(err)}\n`);
          } finally {
            catchingUp = false;
          }
        };
        const proxyWatch = setInterval(() => void catchUp(), catchUpSeconds() * 1000);
        proxyWatch.unref();
        process.stdout.write(
          `Callplane is listening on ${address} (store: ${runtime.store.kind} ${runtime.store.location}).\n` +
            `API: ${address}/api/v1   OpenAPI: ${address}/api/openapi.json\n` +
            `CLI through this server: callplane --server ${address} --token cpt_… users list\n`,
        );
        if (!["127.0.0.1", "::1", "localhost"].includes(o.host)) {
          process.stdout.write(
            `Listening beyond this machine (${o.host}): serve it behind TLS, as sign-in passwords and API tokens cross the network.\n`,
          );
        }
        if (admin) {
          process.stdout.write(
            admin.oneTimePassword
              ? `\nFirst run: created the global administrator "${admin.name}".\n` +
                  `Sign in at ${address}/ as ${admin.name} with this one-time password (shown once; it works for 72 hours, and you will choose a new one):\n\n  ${admin.oneTimePassword}\n\n` +
                  `Or from the CLI: callplane --server ${address} --username ${admin.name} password\n` +
                  `API tokens for the CLI and scripts, once your password is chosen: callplane --server ${address} --username ${admin.name} tokens create NAME --role ROLE\n`
              : `\nFirst run: created the global administrator "${admin.name}" with the password in CALLPLANE_ADMIN_PASSWORD.\n`,
          );
        }
        const stop = async () => {
          process.stdout.write("Stopping: letting running jobs finish their batch…\n");
          clearInterval(sweeper);
          clearInterval(proxyWatch);
          await mailWorker.stop();
          await stopRunningJobs();
          await app.close();
          await runtime.close();
          process.exit(0);
        };
        process.once("SIGINT", () => void stop());
        process.once("SIGTERM", () => void stop());
      } catch (err) {
        const e =
          err instanceof Error && "code" in err && (err as { code?: string }).code === "EADDRINUSE"
            ? new AppError("unavailable", `Port ${o.port} on ${o.host} is in use: choose another with --port.`)
            : err;
        process.exitCode = printError(e, g.json === true);
      }
    });
}

/** The SMTP settings `serve` was given, from its options or the environment; the password never from the URL. */
function smtpSettings(o: {
  smtp?: string;
  smtpPasswordFile?: string;
  smtpRequireTls?: boolean;
  smtpRate?: number;
}): SmtpSettings | undefined {
  const url = o.smtp ?? process.env.CALLPLANE_SMTP_URL;
  if (!url) return undefined;
  let password = process.env.CALLPLANE_SMTP_PASSWORD;
  if (o.smtpPasswordFile) {
    try {
      password = readFileSync(o.smtpPasswordFile, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new AppError("invalid_input", `Cannot read the SMTP password file ${o.smtpPasswordFile}: ${(err as Error).message}.`);
    }
  }
  return { url, password, requireTls: o.smtpRequireTls === true, ratePerSecond: o.smtpRate ?? 0 };
}
