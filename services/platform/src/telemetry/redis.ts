// Spans for Redis commands sent with ioredis (the waiting room's sorted sets, the gateway's rate
// limiter). OpenTelemetry's ioredis instrumentation patches through a require hook that never sees
// an ESM import, so the client's one command path, `sendCommand`, is wrapped here instead: a command
// sent inside a span becomes a CLIENT span with the database conventions. Arguments are left out:
// keys and values may name users or carry tokens.
import { Redis } from 'ioredis';
import { recordError, SpanKind, trace, tracer } from './index.ts';

type Command = { name: string; promise: Promise<unknown> };
type SendCommand = (this: Redis, command: Command, stream?: unknown) => unknown;

const wrapped = Symbol.for('reservex.redis.traced');

/** Traces every ioredis client of this process (idempotent). */
export function traceRedisCommands(): void {
  const prototype = Redis.prototype as unknown as { sendCommand: SendCommand; [wrapped]?: true };
  if (prototype[wrapped]) return;
  const send = prototype.sendCommand;
  prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
    if (trace.getActiveSpan()) {
      const operation = command.name.toUpperCase();
      const span = tracer().startSpan(operation, {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'redis',
          'db.operation.name': operation,
          'db.namespace': String(this.options.db ?? 0),
          ...(this.options.host ? { 'server.address': this.options.host } : {}),
          ...(this.options.port ? { 'server.port': this.options.port } : {}),
        },
      });
      command.promise.then(
        () => span.end(),
        (error: unknown) => {
          recordError(span, error);
          span.end();
        },
      );
    }
    return send.call(this, command, stream);
  };
  prototype[wrapped] = true;
}
