// The shared runtime. Import a module through its subpath (`@reservex/platform/http`); this entry
// point only gathers them for callers that want everything.
export * as config from './config/index.ts';
export * as dapr from './dapr/index.ts';
export * as db from './db/index.ts';
export * as events from './events/index.ts';
export * as http from './http/index.ts';
export * as inbox from './inbox/index.ts';
export * as outbox from './outbox/index.ts';
export * as telemetry from './telemetry/index.ts';
