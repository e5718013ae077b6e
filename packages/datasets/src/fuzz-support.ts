import fc from 'fast-check';
import { expect } from 'vitest';
import { InputError } from '@elbo/core';

/** Helpers for the data-file fuzz tests (mutations applied as data, so fast-check prints and shrinks them). */

/** Cases per property: ELBO_FUZZ_RUNS (the `pnpm fuzz` script sets 10,000), default 200. */
export const fuzzRuns = Number(process.env.ELBO_FUZZ_RUNS ?? 200);
/** Longest a single case may take before it counts as a hang, in ms. */
export const caseTimeMs = Number(process.env.ELBO_FUZZ_CASE_MS ?? 10_000);

export type ByteMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'set32'; at: number; value: number }
  | { kind: 'setByte'; at: number; value: number }
  | { kind: 'append'; bytes: number; value: number };

const frac = fc.double({ min: 0, max: 1, noNaN: true });
const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 60000, 28), fc.nat({ max: 0xffffffff }));

/** A mutation of a file's bytes; `at` is a fraction of the length, or for set32/setByte a byte offset into the header. */
export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: frac }),
  fc.record({ kind: fc.constant('flip' as const), at: frac, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set32' as const), at: fc.nat({ max: 40 }), value: u32 }),
  fc.record({ kind: fc.constant('setByte' as const), at: fc.nat({ max: 40 }), value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.integer({ min: 1, max: 64 }), value: fc.nat({ max: 255 }) }),
);

/** Apply byte mutations to a copy. */
export function mutateBytes(seed: Uint8Array, mutations: ByteMutation[]): Uint8Array {
  let b = Uint8Array.from(seed);
  for (const m of mutations) {
    if (m.kind === 'truncate') b = b.slice(0, Math.floor(m.at * b.length));
    else if (m.kind === 'flip') {
      if (b.length > 0) b[Math.min(b.length - 1, Math.floor(m.at * b.length))] ^= m.xor;
    } else if (m.kind === 'set32') {
      if (m.at + 4 <= b.length) new DataView(b.buffer).setUint32(m.at, m.value, false);
    } else if (m.kind === 'setByte') {
      if (m.at < b.length) b[m.at] = m.value;
    } else {
      const out = new Uint8Array(b.length + m.bytes).fill(m.value);
      out.set(b);
      b = out;
    }
  }
  return b;
}

/** Time a synchronous call; a case longer than `caseTimeMs` is a hang. */
export function timed<T>(body: () => T, what: string): T {
  const t0 = performance.now();
  try {
    return body();
  } finally {
    const ms = performance.now() - t0;
    expect(ms, `${what} took ${ms.toFixed(0)} ms`).toBeLessThan(caseTimeMs);
  }
}

/** The error must be one of elbo's input errors naming the file it came from. */
export function expectInputError(e: unknown, fileMatches: (file: string) => boolean): asserts e is InputError {
  if (!(e instanceof InputError)) throw new Error(`expected an InputError, got ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  expect(typeof e.file, `no file in: ${e.message}`).toBe('string');
  expect(fileMatches(e.file!), `file ${e.file} in: ${e.message}`).toBe(true);
}
