// Accounts, sessions and the keys that sign access tokens. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { accountConfigShape, keySourceRule } from './config.ts';
import * as schema from './db/schema.ts';
import { accountApp, signingKeys } from './wiring.ts';

export const service = defineService({
  name: 'account',
  config: accountConfigShape,
  checkConfig: keySourceRule,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: signingKeys,
  app: accountApp,
  consumes: () => ({}),
});

await runService(service, import.meta);
