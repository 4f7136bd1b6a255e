ALTER TABLE "accounts" ADD COLUMN "password_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "job_items" ADD COLUMN "notice" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "lease_token" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
-- Older versions could leave two unfinished jobs of one command: all but the newest are closed as failed.
UPDATE "jobs" SET "status" = 'failed', "error" = coalesce("error", 'Superseded by a newer run of the same command.'), "fingerprint" = "fingerprint" || ':superseded:' || "id"
WHERE "status" <> 'completed' AND NOT "dry_run" AND "id" NOT IN (
  SELECT DISTINCT ON ("tenant_id", "fingerprint") "id" FROM "jobs" WHERE "status" <> 'completed' AND NOT "dry_run"
  ORDER BY "tenant_id", "fingerprint", "created_at" DESC);--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_unfinished_fingerprint" ON "jobs" USING btree ("tenant_id","fingerprint") WHERE status <> 'completed' and not dry_run;--> statement-breakpoint
CREATE INDEX "jobs_lease" ON "jobs" USING btree ("lease_expires_at") WHERE status = 'running';