// A minimal Dapr app for the local stack's own tests: it subscribes to the topics named in
// PROBE_TOPICS, records what it receives, publishes on request and answers service invocation.
// Plain node:http on purpose: it tests the stack, not the platform library.
import { createServer, type IncomingMessage } from 'node:http';

const port = Number(process.env.PORT);
const daprHttp = `http://127.0.0.1:${process.env.DAPR_HTTP_PORT}`;
const pubsub = process.env.PUBSUB_NAME ?? 'pubsub';
const topics = (process.env.PROBE_TOPICS ?? '').split(',').filter(Boolean);
const received: { topic: string; id: string; data: unknown; traceparent?: string }[] = [];

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? '/', 'http://probe');
  const json = (status: number, value: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
  if (request.method === 'GET' && url.pathname === '/healthz') return json(200, { status: 'ok' });
  if (request.method === 'GET' && url.pathname === '/dapr/subscribe') {
    return json(
      200,
      topics.map((topic) => ({ pubsubname: pubsub, topic, route: `/events/${topic}` })),
    );
  }
  if (request.method === 'POST' && url.pathname.startsWith('/events/')) {
    const event = JSON.parse(await body(request)) as {
      id: string;
      topic: string;
      data: unknown;
      traceparent?: string;
    };
    received.push({ topic: event.topic, id: event.id, data: event.data, traceparent: event.traceparent });
    return json(200, { status: 'SUCCESS' });
  }
  if (request.method === 'GET' && url.pathname === '/received') return json(200, received);
  if (request.method === 'POST' && url.pathname.startsWith('/publish/')) {
    const topic = url.pathname.slice('/publish/'.length);
    const answer = await fetch(`${daprHttp}/v1.0/publish/${pubsub}/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'dapr-api-token': process.env.DAPR_API_TOKEN ?? '' },
      body: await body(request),
      signal: AbortSignal.timeout(10_000),
    });
    return json(answer.status, { status: answer.status, body: await answer.text() });
  }
  if (request.method === 'POST' && url.pathname === '/echo') {
    return json(200, { echoedBy: process.env.SERVICE_NAME, body: await body(request) });
  }
  return json(404, { error: 'not found' });
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
