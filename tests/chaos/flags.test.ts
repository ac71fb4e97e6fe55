import { describe, expect, it } from 'vitest';
import { defaults, faultKinds, parseFlags } from './flags.ts';

const flagsOf = (argv: string[]) => {
  const parsed = parseFlags(argv);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.flags;
};
const errorOf = (argv: string[]) => {
  const parsed = parseFlags(argv);
  return 'error' in parsed ? parsed.error : undefined;
};

describe('chaos flags', () => {
  it('defaults to 2,000 buyers for 500 tickets with every kind of fault', () => {
    expect(flagsOf([])).toMatchObject({ buyers: 2000, tickets: 500, seed: 1, faults: faultKinds });
    expect(defaults.pauseS).toBeGreaterThan(30);
  });

  it('takes buyers, tickets, duration, seed and a list of faults', () => {
    expect(
      flagsOf([
        '--buyers',
        '300',
        '--tickets',
        '80',
        '--duration',
        '60',
        '--seed',
        '7',
        '--faults',
        'kill,pause',
      ]),
    ).toMatchObject({ buyers: 300, tickets: 80, durationS: 60, seed: 7, faults: ['kill', 'pause'] });
    expect(flagsOf(['--faults', 'none']).faults).toEqual([]);
    expect(flagsOf(['--duplicates', '0.25']).duplicateShare).toBe(0.25);
  });

  it.each([
    [['--buyers', 'many'], /--buyers must be a whole number/],
    [['--buyers=-5'], /--buyers must be a whole number/],
    [['--duration', '5'], /--duration must be a whole number from 20/],
    [['--seed', '1.5'], /--seed must be a whole number/],
    [['--faults', 'kill,meteor'], /unknown fault kind meteor/],
    [['--faults', ''], /unknown fault kind/],
    [['--duplicates', '2'], /--duplicates must be a share/],
    [['--tickets', '900', '--buyers', '100'], /must not exceed --buyers/],
    [['--duration', '30', '--pause', '40'], /--pause \(40 s\) must be shorter/],
    [['--label', 'Has Spaces'], /--label/],
    [['--bogus', '1'], /bogus/],
    [['stray'], /stray/],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    expect(errorOf(argv as string[])).toMatch(message);
  });
});
