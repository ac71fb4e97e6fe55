// A served app whose process stops taking connections for a while: run as a child process by the
// backlog test. It listens (with `BACKLOG` when set, else serve's default), reports its port, and on
// the parent's message blocks its event loop for `ms`, so connections can only wait in the kernel's
// accept queue meanwhile.
import { Hono } from 'hono';
import { serve } from '../serve.ts';

const backlog = process.env.BACKLOG ? Number(process.env.BACKLOG) : undefined;
const running = serve(new Hono(), {
  port: 0,
  host: '127.0.0.1',
  signals: [],
  ...(backlog === undefined ? {} : { backlog }),
});
const { port } = await running.listening;
process.send?.({ port });
process.on('message', ({ stallMs }: { stallMs: number }) => {
  process.send?.({ stalling: true }, () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);
    process.exit(0);
  });
});
