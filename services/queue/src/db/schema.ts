// The queue keeps its waiting rooms in Redis; Postgres holds only the inbox, which makes freeing a
// slot on a reservation event happen once per event however often Kafka redelivers it.
export { inbox, refusals } from '@reservex/platform/inbox';
