CREATE TABLE "inbox" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"topic" text,
	"handled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_pkey" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"topic" text NOT NULL,
	"partition_key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"traceparent" text,
	"tracestate" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reservation_transitions" (
	"reservation_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"failed_step" text,
	"detail" text,
	"cause" text NOT NULL,
	"event_id" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservation_transitions_pkey" PRIMARY KEY("reservation_id","seq"),
	CONSTRAINT "reservation_transitions_status_known" CHECK ("reservation_transitions"."status" IN ('PENDING', 'AWAITING_PAYMENT', 'AWAITING_TICKETS', 'CONFIRMED', 'CANCELLED')),
	CONSTRAINT "reservation_transitions_cancel_has_reason" CHECK (("reservation_transitions"."status" = 'CANCELLED') = ("reservation_transitions"."reason" IS NOT NULL AND "reservation_transitions"."failed_step" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"show_id" uuid NOT NULL,
	"ticket_type_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"hold_expires_at" timestamp with time zone NOT NULL,
	"traceparent" text,
	"ended_at" timestamp with time zone,
	CONSTRAINT "reservations_quantity_positive" CHECK ("reservations"."quantity" >= 1)
);
--> statement-breakpoint
ALTER TABLE "reservation_transitions" ADD CONSTRAINT "reservation_transitions_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("next_attempt_at","created_at") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "outbox_sent_at_idx" ON "outbox" USING btree ("sent_at") WHERE "outbox"."sent_at" is not null;--> statement-breakpoint
CREATE INDEX "reservations_open_by_expiry_idx" ON "reservations" USING btree ("hold_expires_at") WHERE "reservations"."ended_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "reservations_one_open_per_user_show_idx" ON "reservations" USING btree ("user_id","show_id") WHERE "reservations"."ended_at" is null;