import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('gives the same text whatever the order of the members, at any depth', () => {
    const a = { b: 1, a: { d: [{ y: 2, x: 1 }], c: 'é' } };
    const b = { a: { c: 'é', d: [{ x: 1, y: 2 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":"é","d":[{"x":1,"y":2}]},"b":1}');
  });

  it('leaves out undefined members and keeps the order of arrays', () => {
    expect(canonicalJson({ z: undefined, a: [3, 1, 2], n: null })).toBe('{"a":[3,1,2],"n":null}');
    expect(canonicalJson([{ b: 1, a: 2 }, 'x', 0, false])).toBe('[{"a":2,"b":1},"x",0,false]');
  });
});
