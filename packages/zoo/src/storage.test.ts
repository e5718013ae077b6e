import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeHalf, encodeHalf, fromHalfBits, toHalfBits } from './float16';
import { sha256Hex, sha256Plain } from './sha256';

describe('float16', () => {
  it('round-trips exactly representable values and known bit patterns', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [0.5, 0x3800],
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    for (const [v, bits] of cases) {
      expect(toHalfBits(v)).toBe(bits);
      expect(fromHalfBits(bits)).toBe(v);
    }
    expect(toHalfBits(1e6)).toBe(0x7c00); // beyond the half range
    expect(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN)))).toBe(true);
  });

  it('rounds to the nearest half (ties to even), relative error at most 2^-11 in the normal range', () => {
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie -> even (up)
    const values = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
    const back = decodeHalf(encodeHalf(values));
    values.forEach((v, i) => {
      if (Math.abs(v) >= 2 ** -14) expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
      else expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(2 ** -25);
    });
  });
});

describe('sha256', () => {
  it('matches node:crypto (Web Crypto and the plain implementation), including block-boundary lengths', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      const expected = createHash('sha256').update(bytes).digest('hex');
      expect(await sha256Hex(bytes)).toBe(expected);
      expect(Buffer.from(sha256Plain(bytes)).toString('hex')).toBe(expected);
    }
  });
});
