CREATE TABLE "dial_plans" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"identity" text NOT NULL,
	"scope" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "directory_objects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"immutable_id" text NOT NULL,
	"user_principal_name" text NOT NULL,
	"display_name" text NOT NULL,
	"alias" text,
	"usage_location" text,
	"sip_address" text,
	"sip_enabled" boolean DEFAULT false NOT NULL,
	"registrar_pool" text,
	"hosting_provider" text,
	"enterprise_voice_enabled" boolean DEFAULT false NOT NULL,
	"line_uri" text,
	"voice_routing_policy" text,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "normalization_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"dial_plan_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"pattern" text NOT NULL,
	"translation" text NOT NULL,
	"priority" integer NOT NULL,
	"is_internal_extension" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pstn_gateways" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"fqdn" text NOT NULL,
	"sip_signaling_port" integer NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"failover_time_seconds" integer DEFAULT 10 NOT NULL,
	"failover_response_codes" text DEFAULT '408,503,504' NOT NULL,
	"send_sip_options" boolean DEFAULT true NOT NULL,
	"forward_pai" boolean DEFAULT false NOT NULL,
	"media_bypass" boolean DEFAULT false NOT NULL,
	"max_concurrent_sessions" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pstn_usages" (
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "pstn_usages_tenant_id_name_pk" PRIMARY KEY("tenant_id","name")
);
--> statement-breakpoint
CREATE TABLE "voice_routes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"number_pattern" text NOT NULL,
	"priority" integer NOT NULL,
	"pstn_usages" text[] NOT NULL,
	"pstn_gateways" text[] NOT NULL,
	"suppress_caller_id" boolean DEFAULT false NOT NULL,
	"alternate_caller_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "voice_routing_policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"identity" text NOT NULL,
	"description" text,
	"pstn_usages" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "immutable_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_synced_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "homing" text DEFAULT 'online' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "on_prem_sip_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "on_prem_registrar_pool" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "hosting_provider" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "on_prem_enterprise_voice_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "on_prem_line_uri" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "on_prem_voice_routing_policy" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "enterprise_voice_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "hosted_voicemail" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "online_voice_routing_policy" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "tenant_dial_plan" text;--> statement-breakpoint
ALTER TABLE "dial_plans" ADD CONSTRAINT "dial_plans_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "directory_objects" ADD CONSTRAINT "directory_objects_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "normalization_rules" ADD CONSTRAINT "normalization_rules_dial_plan_id_dial_plans_id_fk" FOREIGN KEY ("dial_plan_id") REFERENCES "public"."dial_plans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pstn_gateways" ADD CONSTRAINT "pstn_gateways_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pstn_usages" ADD CONSTRAINT "pstn_usages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_routes" ADD CONSTRAINT "voice_routes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_routing_policies" ADD CONSTRAINT "voice_routing_policies_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dial_plans_tenant_identity" ON "dial_plans" USING btree ("tenant_id",lower("identity"));--> statement-breakpoint
CREATE UNIQUE INDEX "directory_objects_tenant_immutable_id" ON "directory_objects" USING btree ("tenant_id","immutable_id");--> statement-breakpoint
CREATE UNIQUE INDEX "directory_objects_tenant_upn" ON "directory_objects" USING btree ("tenant_id",lower("user_principal_name")) WHERE "directory_objects"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "directory_objects_tenant_line_uri" ON "directory_objects" USING btree ("tenant_id","line_uri") WHERE "directory_objects"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "normalization_rules_plan_name" ON "normalization_rules" USING btree ("dial_plan_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "pstn_gateways_tenant_fqdn" ON "pstn_gateways" USING btree ("tenant_id",lower("fqdn"));--> statement-breakpoint
CREATE UNIQUE INDEX "pstn_usages_tenant_name" ON "pstn_usages" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "voice_routes_tenant_name" ON "voice_routes" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE INDEX "voice_routes_tenant_priority" ON "voice_routes" USING btree ("tenant_id","priority");--> statement-breakpoint
CREATE UNIQUE INDEX "voice_routing_policies_tenant_identity" ON "voice_routing_policies" USING btree ("tenant_id",lower("identity"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_immutable_id" ON "users" USING btree ("tenant_id","immutable_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_on_prem_line_uri" ON "users" USING btree ("tenant_id","on_prem_line_uri") WHERE "users"."deleted_at" is null;