import { describe, expect, it } from 'vitest';
import { Rng } from './rng';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(1)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(1)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(2)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('is roughly uniform and normal draws have unit variance', () => {
    const r = new Rng(5);
    let s = 0;
    let s2 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) s += r.next();
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.01);
    s = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it('state round-trips and labelled forks are stable and distinct', () => {
    const r = new Rng(9);
    r.next();
    const st = r.getState();
    const x = r.nextUint32();
    r.setState(st);
    expect(r.nextUint32()).toBe(x);
    const base = new Rng(3);
    expect(base.fork('init').nextUint32()).toBe(new Rng(3).fork('init').nextUint32());
    expect(base.fork('init').nextUint32()).not.toBe(base.fork('noise').nextUint32());
    const p = new Rng(1).permutation(10);
    expect([...p].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => new Rng(Number.NaN)).toThrow(/finite/);
    expect(() => r.setState({ a: -1, b: 0, c: 0, d: 0 })).toThrow(/"a"/);
  });
});
