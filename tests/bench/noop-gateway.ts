// The ceiling of the queue benchmark: a hono "gateway" that does nothing but forward `GET /hello`
// through its Dapr sidecar (service invocation, with its Dapr API token) to a no-op app behind its own
// sidecar. Whatever ReserveX's gateway answers below this is its own cost, not the Dapr hop's.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const target = process.env.TARGET_APP_ID;
if (!target) throw new Error('TARGET_APP_ID names the app to forward to');
const invoke = `http://127.0.0.1:${process.env.DAPR_HTTP_PORT}/v1.0/invoke/${target}/method/hello`;
const headers = { 'dapr-api-token': process.env.DAPR_API_TOKEN ?? '' };

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.get('/hello', async () => {
  const upstream = await fetch(invoke, { headers });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { 'content-type': 'application/json' },
  });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
