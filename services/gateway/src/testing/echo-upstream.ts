// A stand-in upstream for the gateway's integration test, run as an app with its own sidecar under
// an app id the route table knows (inventory). It echoes what the gateway forwarded (headers, path)
// and can be slow on request, so timeouts and header hygiene are checked on a real Dapr hop.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.all('/v1/*', async (c) => {
  const delayMs = Number(c.req.query('delayMs') ?? 0);
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, 30_000)));
  return c.json({ method: c.req.method, path: c.req.path, headers: Object.fromEntries(c.req.raw.headers) });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
