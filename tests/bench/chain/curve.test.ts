import { describe, expect, it } from 'vitest';
import { cumulative, renderCurves, tickStep } from './curve.ts';

describe('the confirmed-over-time chart', () => {
  it('accumulates confirmations in time order from the origin', () => {
    expect(cumulative([2, 1, Number.NaN, 3])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('picks round tick steps', () => {
    expect(tickStep(10)).toBe(2);
    expect(tickStep(37)).toBe(5);
    expect(tickStep(100, 6)).toBe(20);
    expect(tickStep(0)).toBe(1);
  });

  it('draws one step line and one legend entry per system, escaping labels', () => {
    const svg = renderCurves('Confirmed <over> time', [
      { label: 'ReserveX & co', colour: '#c0392b', confirmedAtS: [1, 2, 4] },
      { label: 'chain', colour: '#2471a3', confirmedAtS: [0.5, 1] },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>Confirmed &lt;over&gt; time</title>');
    expect(svg).toContain('ReserveX &amp; co');
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]!);
    expect(paths).toHaveLength(2);
    // Three confirmations: three horizontal-then-vertical steps after the start.
    expect(paths[0]!.match(/H/g)).toHaveLength(3);
    // The last step of the longest curve reaches the right edge, below the top of the plot.
    expect(paths[0]).toMatch(/H704\.0V(\d+\.\d)$/);
    const top = Number(/V(\d+\.\d)$/.exec(paths[0]!)![1]);
    expect(top).toBeGreaterThan(66);
    expect(top).toBeLessThan(90);
  });

  it('draws an empty chart when nothing was confirmed', () => {
    const svg = renderCurves('none', [{ label: 'x', colour: 'red', confirmedAtS: [] }]);
    expect(svg).toContain('<path d="M56.0,316.0"');
  });
});
