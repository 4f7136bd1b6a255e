// Child process of bench/acp.ts: runs the bulk move on an existing data folder and reports its own
// figures as one JSON line, so the peak RSS is this work's alone (not the demo build's).
import { writeFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import { moveUsersToMicrosoft } from "../src/conferencing/move-to-microsoft.service.ts";
import { restoreJob } from "../src/conferencing/restore-job.service.ts";
import { hasAudioConferencingLicence } from "../src/directory/users.service.ts";
import { openRuntime } from "../src/runtime.ts";
import { rows } from "../src/store/db.ts";

const [dataDir, outboxDir, sampleFile, sampleSize] = process.argv.slice(2);
if (!dataDir || !outboxDir || !sampleFile) throw new Error("usage: acp-bulk.ts DATA OUTBOX SAMPLE_FILE SAMPLE_SIZE");

const runtime = await openRuntime({ dataDir, outboxDir, holder: "bench:acp" });
const ctx = await runtime.ctx(undefined, "bench");
// The administrator's export: every licensed user whose provider is a third party, as a CSV.
const targets = await rows<{ upn: string }>(
  ctx.db,
  sql`select u.user_principal_name as upn from users u
      where u.tenant_id = ${ctx.tenantId} and ${hasAudioConferencingLicence}
        and not exists (select 1 from dial_in_users d where d.user_id = u.id)
        and exists (select 1 from user_acp_entries e where e.user_id = u.id)
      order by u.id`,
);
const csv = Buffer.from(`UserPrincipalName\r\n${targets.map((t) => t.upn).join("\r\n")}\r\n`);

const t0 = performance.now();
const moved = await moveUsersToMicrosoft(ctx, { csv: { content: csv, name: "licensed-third-party.csv" } }, { wait: true });
const moveMs = performance.now() - t0;
const moveRssMb = process.resourceUsage().maxRSS / 1024;

const t1 = performance.now();
const restored = await restoreJob(ctx, moved.job.id, { wait: true });
const restoreMs = performance.now() - t1;

// A sample for the one-at-a-time baseline: users now back on their third-party provider.
writeFileSync(
  sampleFile,
  targets
    .slice(0, Number(sampleSize ?? 2000))
    .map((t) => t.upn)
    .join("\n"),
);
await runtime.close();
process.stdout.write(
  `${JSON.stringify({
    users: targets.length,
    changed: moved.report?.summary.changed ?? 0,
    failed: moved.report?.summary.failed ?? 0,
    moveMs,
    moveRssMb,
    restored: restored.report?.summary.changed ?? 0,
    restoreMs,
  })}\n`,
);
