CREATE TABLE "refused_events" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"topic" text NOT NULL,
	"reason" text NOT NULL,
	"refused_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refused_events_pkey" PRIMARY KEY("consumer","event_id")
);
