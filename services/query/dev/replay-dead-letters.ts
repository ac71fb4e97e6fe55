// `npm run replay-dead-letters -w @reservex/query -- <dead letter id>... | --all | --never-replayed`:
// the production command (src/commands/replay-dead-letters.ts) against the running local stack's
// query database, unless DATABASE_URL names one.
import { databaseUrl } from '@reservex/local';
import { runningInfra } from './running-stack.ts';

process.env.DATABASE_URL ??= databaseUrl(runningInfra().postgres, 'query');
await import('../src/commands/replay-dead-letters.ts');
