CREATE TABLE "sip_proxies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"rpc_address" text NOT NULL,
	"data_dir" text NOT NULL,
	"generation" integer,
	"slot" integer,
	"published_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "voice_publications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"generation" integer NOT NULL,
	"actor" text NOT NULL,
	"rollback_of" integer,
	"content_hash" text NOT NULL,
	"summary" jsonb NOT NULL,
	"artifacts" jsonb NOT NULL,
	"input" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pstn_gateways" ADD COLUMN "signaling_address" text;--> statement-breakpoint
ALTER TABLE "sip_proxies" ADD CONSTRAINT "sip_proxies_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_publications" ADD CONSTRAINT "voice_publications_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sip_proxies_tenant_name" ON "sip_proxies" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "voice_publications_tenant_generation" ON "voice_publications" USING btree ("tenant_id","generation");