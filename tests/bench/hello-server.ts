// The baseline of the queue benchmark: a bare hono "hello" on @hono/node-server, no middleware, no
// sidecar. Whatever the gateway and the queue add is measured against this.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.get('/hello', (c) => c.json({ hello: 'world' }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
