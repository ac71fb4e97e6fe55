// The public API document, merged from the services' own documents fetched through Dapr. A
// service's document changes only with a deployment: each one is kept a minute.
import type { Dapr } from '@reservex/platform/dapr';
import { logger } from '@reservex/platform/telemetry';
import { publicRoutes } from '../domain/routes.ts';
import { mergePublicDocument, type OpenApiDocument } from './public-document.ts';

export function publicDocumentFrom(dapr: Pick<Dapr, 'invoke'>): () => Promise<OpenApiDocument> {
  const documents = new Map<string, { document: OpenApiDocument; fetchedAt: number }>();
  return async () => {
    const apps = [...new Set(publicRoutes.map((route) => route.app))];
    await Promise.all(
      apps.map(async (app) => {
        const cached = documents.get(app);
        if (cached && Date.now() - cached.fetchedAt < 60_000) return;
        try {
          const response = await dapr.invoke<OpenApiDocument>(app, 'openapi.json', { timeoutMs: 2000 });
          if (response.status === 200 && typeof response.body === 'object') {
            documents.set(app, { document: response.body, fetchedAt: Date.now() });
          }
        } catch (error) {
          logger.debug({ err: error, app }, 'no API description from service');
        }
      }),
    );
    return mergePublicDocument(
      publicRoutes,
      Object.fromEntries([...documents].map(([app, entry]) => [app, entry.document])),
      {
        title: 'ReserveX public API',
        version: '1.0.0',
        description: 'Every route a client can call, through the gateway.',
      },
    );
  };
}
