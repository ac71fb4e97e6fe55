import { describe, expect, it } from 'vitest';
import { parseBenchFlags } from './flags.ts';

describe('parseBenchFlags', () => {
  it('takes the defaults: every strategy and stage, three rounds', () => {
    const parsed = parseBenchFlags([]);
    expect(parsed).toEqual({
      ok: true,
      flags: expect.objectContaining({
        buyers: 500,
        tickets: 100,
        concurrency: 50,
        strategies: ['batched', 'atomic', 'pessimistic'],
        stages: ['allocation', 'flash-sale', 'chain'],
        rounds: 3,
        tracesOut: undefined,
        cpuProf: undefined,
        maxMinutes: 120,
      }),
    });
  });

  it('reads every flag', () => {
    const parsed = parseBenchFlags([
      '--buyers',
      '40',
      '--tickets=10',
      '--stages',
      'chain',
      '--rounds',
      '1',
      '--traces-out',
      '/tmp/t.jsonl',
      '--strategies',
      'batched,batched',
      '--cpu-prof',
      '/tmp/prof',
    ]);
    expect(parsed.ok && parsed.flags).toMatchObject({
      buyers: 40,
      tickets: 10,
      stages: ['chain'],
      rounds: 1,
      tracesOut: '/tmp/t.jsonl',
      cpuProf: '/tmp/prof',
      strategies: ['batched'],
    });
  });

  it.each([
    [['--buyer', '5'], "Unknown option '--buyer'"],
    [['--buyers'], "Option '--buyers <value>' argument missing"],
    [['--buyers', 'many'], '--buyers must be an integer from 1 to 20000, not many'],
    [['--rounds', '0'], '--rounds must be an integer from 1 to 20, not 0'],
    [['--concurrency', '2.5'], '--concurrency must be an integer from 1 to 1000, not 2.5'],
    [['--stages', 'chain,soak'], '--stages: unknown value soak (known: allocation, flash-sale, chain)'],
    [['--strategies', ''], '--strategies needs at least one of batched, atomic, pessimistic'],
    [['--stages', 'flash-sale', '--traces-out', 'x'], 'add chain to --stages'],
    [['--traces-out', ' '], '--traces-out needs a file name'],
    [['--cpu-prof', ''], '--cpu-prof needs a directory'],
    [['--buyers', '10', '--tickets', '20'], 'must not exceed --buyers'],
    [['stray'], 'Unexpected argument'],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    const parsed = parseBenchFlags(argv);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain(message);
  });
});
