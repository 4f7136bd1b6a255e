DROP INDEX "mail_messages_message_id";--> statement-breakpoint
DROP INDEX "mail_messages_due";--> statement-breakpoint
CREATE INDEX "mail_messages_claimed" ON "mail_messages" USING btree ("claimed_until") WHERE status = 'sending';--> statement-breakpoint
CREATE INDEX "mail_messages_due" ON "mail_messages" USING btree ("next_attempt_at") WHERE status in ('queued', 'deferred');--> statement-breakpoint
ALTER TABLE "mail_messages" DROP COLUMN "message_id";