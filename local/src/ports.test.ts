import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canBind, candidatePort, freePort, PORT_RANGE } from './ports.ts';

describe('candidatePort', () => {
  it('stays below the kernel ephemeral range', () => {
    expect(candidatePort(new Set(), () => 0)).toBe(PORT_RANGE.min);
    expect(candidatePort(new Set(), () => 0.999999)).toBeLessThan(PORT_RANGE.max);
    expect(PORT_RANGE.max).toBeLessThanOrEqual(32_768);
  });

  it('skips ports already handed out', () => {
    const draws = [0, 0, 0.5];
    const port = candidatePort(new Set([PORT_RANGE.min]), () => draws.shift() ?? 0.5);
    expect(port).toBe(PORT_RANGE.min + Math.floor(0.5 * (PORT_RANGE.max - PORT_RANGE.min)));
  });

  it('gives up instead of looping forever when every draw is taken', () => {
    expect(() => candidatePort(new Set([PORT_RANGE.min]), () => 0)).toThrow(/no free port/);
  });
});

describe('freePort', () => {
  it('hands out distinct ports that can be bound', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports.slice(0, 3)) expect(await canBind(port)).toBe(true);
  });

  it('knows a port someone listens on is not free', async () => {
    const server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await canBind(port)).toBe(false);
    } finally {
      server.close();
    }
  });
});
