CREATE TABLE "archives" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"job_id" uuid,
	"operation" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"restored_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"operation" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" text,
	"job_id" uuid,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "bridges" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"conference_id_length" integer DEFAULT 7 NOT NULL,
	"default_service_number" text,
	"default_toll_free_service_number" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conferencing_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"pin_length" integer DEFAULT 5 NOT NULL,
	"automatically_send_emails_to_users" boolean DEFAULT true NOT NULL,
	"allow_pstn_only_meetings_by_default" boolean DEFAULT false NOT NULL,
	"automatically_replace_acp_provider" boolean DEFAULT false NOT NULL,
	"send_email_from_override" boolean DEFAULT false NOT NULL,
	"send_email_from_address" text,
	"send_email_from_display_name" text,
	"enable_entry_exit_notifications" boolean DEFAULT true NOT NULL,
	"enable_name_recording" boolean DEFAULT true NOT NULL,
	"entry_exit_announcements_type" text DEFAULT 'UseNames' NOT NULL,
	"mask_pstn_numbers_type" text DEFAULT 'MaskedForExternalUsers' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dial_in_users" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"bridge_id" uuid NOT NULL,
	"conference_id" text NOT NULL,
	"pin_hash" text NOT NULL,
	"service_number" text,
	"toll_free_service_number" text,
	"allow_pstn_only_meetings" boolean DEFAULT false NOT NULL,
	"allow_toll_free_dial_in" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_items" (
	"job_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"identity" text NOT NULL,
	"user_id" uuid,
	"outcome" text,
	"message" text,
	"failed" boolean DEFAULT false NOT NULL,
	"changed" boolean DEFAULT false NOT NULL,
	"detail" jsonb,
	CONSTRAINT "job_items_job_id_seq_pk" PRIMARY KEY("job_id","seq")
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"params" jsonb NOT NULL,
	"fingerprint" text NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"processed" integer DEFAULT 0 NOT NULL,
	"actor" text NOT NULL,
	"runner_id" text,
	"heartbeat_at" timestamp with time zone,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "licence_assignments" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"sku_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "licence_assignments_user_id_sku_id_pk" PRIMARY KEY("user_id","sku_id")
);
--> statement-breakpoint
CREATE TABLE "providers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"domain" text NOT NULL,
	"url" text,
	"is_microsoft" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_numbers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"bridge_id" uuid NOT NULL,
	"number" text NOT NULL,
	"type" text NOT NULL,
	"city" text,
	"country" text,
	"primary_language" text DEFAULT 'en-US' NOT NULL,
	"secondary_languages" text[] DEFAULT '{}'::text[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skus" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"sku_part_number" text NOT NULL,
	"name" text NOT NULL,
	"seats" integer NOT NULL,
	"service_plans" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"domain" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_acp_entries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text NOT NULL,
	"domain" text NOT NULL,
	"toll_number" text,
	"toll_free_numbers" text[] DEFAULT '{}'::text[] NOT NULL,
	"participant_passcode" text,
	"url" text,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_principal_name" text NOT NULL,
	"sip_address" text,
	"alias" text,
	"display_name" text NOT NULL,
	"usage_location" text,
	"source" text DEFAULT 'cloud' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "archives" ADD CONSTRAINT "archives_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bridges" ADD CONSTRAINT "bridges_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conferencing_settings" ADD CONSTRAINT "conferencing_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dial_in_users" ADD CONSTRAINT "dial_in_users_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dial_in_users" ADD CONSTRAINT "dial_in_users_bridge_id_bridges_id_fk" FOREIGN KEY ("bridge_id") REFERENCES "public"."bridges"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licence_assignments" ADD CONSTRAINT "licence_assignments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licence_assignments" ADD CONSTRAINT "licence_assignments_sku_id_skus_id_fk" FOREIGN KEY ("sku_id") REFERENCES "public"."skus"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "providers" ADD CONSTRAINT "providers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_numbers" ADD CONSTRAINT "service_numbers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_numbers" ADD CONSTRAINT "service_numbers_bridge_id_bridges_id_fk" FOREIGN KEY ("bridge_id") REFERENCES "public"."bridges"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "skus" ADD CONSTRAINT "skus_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_acp_entries" ADD CONSTRAINT "user_acp_entries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "archives_user" ON "archives" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "archives_job" ON "archives" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "audit_events_tenant_at" ON "audit_events" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_target" ON "audit_events" USING btree ("target_id");--> statement-breakpoint
CREATE UNIQUE INDEX "bridges_tenant_name" ON "bridges" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "dial_in_users_bridge_conference_id" ON "dial_in_users" USING btree ("bridge_id","conference_id");--> statement-breakpoint
CREATE INDEX "dial_in_users_tenant" ON "dial_in_users" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "jobs_tenant_created" ON "jobs" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "jobs_fingerprint" ON "jobs" USING btree ("tenant_id","fingerprint");--> statement-breakpoint
CREATE INDEX "licence_assignments_sku" ON "licence_assignments" USING btree ("sku_id");--> statement-breakpoint
CREATE UNIQUE INDEX "providers_tenant_name" ON "providers" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "service_numbers_tenant_number" ON "service_numbers" USING btree ("tenant_id","number");--> statement-breakpoint
CREATE INDEX "service_numbers_bridge" ON "service_numbers" USING btree ("bridge_id");--> statement-breakpoint
CREATE UNIQUE INDEX "skus_tenant_part_number" ON "skus" USING btree ("tenant_id",lower("sku_part_number"));--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_name" ON "tenants" USING btree (lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "user_acp_entries_user_name" ON "user_acp_entries" USING btree ("user_id",lower("name"));--> statement-breakpoint
CREATE INDEX "user_acp_entries_tenant_name" ON "user_acp_entries" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_upn" ON "users" USING btree ("tenant_id",lower("user_principal_name"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_sip" ON "users" USING btree ("tenant_id",lower("sip_address"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_alias" ON "users" USING btree ("tenant_id",lower("alias"));--> statement-breakpoint
CREATE INDEX "users_tenant_display_name" ON "users" USING btree ("tenant_id",lower("display_name"));