CREATE TABLE "spent_passes" (
	"jti" text PRIMARY KEY NOT NULL,
	"reservation_id" uuid NOT NULL,
	"spent_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "spent_passes" ADD CONSTRAINT "spent_passes_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE no action ON UPDATE no action;