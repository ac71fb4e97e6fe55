// The single public entry: authenticates, limits and forwards to the services. Run by the platform.
import { defineService, runService } from '@reservex/platform/service';
import { gatewayConfigShape } from './config.ts';
import { gatewayApp } from './wiring.ts';

export const service = defineService({
  name: 'gateway',
  config: gatewayConfigShape,
  redis: { maxRetriesPerRequest: 1, commandTimeout: 500, enableOfflineQueue: false },
  app: gatewayApp,
  consumes: () => ({}),
});

await runService(service, import.meta);
