import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors';
import { benchConfigFile } from '../suites';
import { expandSweep, loadSweepSpec, MAX_JOBS } from './spec';

// Property: a sweep spec file, seeded from a valid one and mutated (fields set to wrong types, huge,
// negative or fractional numbers, long axes, deleted or unknown fields; or the file's bytes truncated
// or flipped), either loads as a spec whose jobs expand quickly and number at most MAX_JOBS, or is
// refused with a UsageError that names the file; never another error, never a long expansion.

const runs = Number(process.env.ELBO_FUZZ_RUNS ?? 200);
const caseMs = Number(process.env.ELBO_FUZZ_CASE_MS ?? 5_000);

const { variant } = benchConfigFile<{ variant: string }>('quick.json');
const valid = {
  name: 'fuzz',
  base: { variant, inputShape: [784], hiddenDims: [16], latentDim: 2 },
  axes: { klWeight: [0.5, 1, 4], latentDim: [2, 4] },
  seeds: 2,
  epochs: 1,
  trainLimit: 256,
};

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, '', -1, 0, 1, 0.5, 2 ** 31, 2 ** 53, 1e308, [], [0], {}, { a: {} }, 'seed', '../x', 'a b'),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })), { maxLength: 6 }),
  // Long axes and seed lists: the job count must stay bounded however they cross.
  fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation =
  | { kind: 'set'; path: string[]; value: unknown }
  | { kind: 'delete'; path: string[] }
  | { kind: 'add'; name: string; value: unknown };

const paths = [['name'], ['base'], ['base', 'variant'], ['base', 'latentDim'], ['axes'], ['axes', 'klWeight'], ['axes', 'latentDim'], ['axes', 'seed'], ['axes', 'epochs'], ['seeds'], ['epochs'], ['trainLimit'], ['batchSize'], ['attempts'], ['checkpointEverySteps']];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...paths), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...paths) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), name: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'budget'), fc.string({ maxLength: 6 })), value: hostile }) },
);

function apply(muts: Mutation[]): unknown {
  const spec = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
  for (const m of muts) {
    if (m.kind === 'add') {
      spec[m.name] = m.value;
      continue;
    }
    let at: Record<string, unknown> | undefined = spec;
    for (const k of m.path.slice(0, -1)) at = at && typeof at[k] === 'object' && at[k] !== null ? (at[k] as Record<string, unknown>) : undefined;
    if (!at) continue;
    const last = m.path[m.path.length - 1];
    if (m.kind === 'set') at[last] = m.value;
    else delete at[last];
  }
  return spec;
}

/** Byte-level damage to the file's text: cut it short or flip one byte. */
const damage: fc.Arbitrary<{ cut?: number; flip?: number }> = fc.oneof(fc.constant({}), fc.record({ cut: fc.nat() }), fc.record({ flip: fc.nat() }));

const dir = mkdtempSync(join(tmpdir(), 'elbo-sweep-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sweep spec files under mutation (fast-check)', () => {
  it(`load as a bounded spec or a UsageError naming the file (${runs} cases)`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 0, maxLength: 3 }), damage, async (muts, hurt) => {
        const file = join(dir, `spec-${n++}.json`);
        let bytes = Buffer.from(JSON.stringify(apply(muts)) ?? 'null');
        if (hurt.cut !== undefined) bytes = bytes.subarray(0, hurt.cut % (bytes.length + 1));
        if (hurt.flip !== undefined && bytes.length > 0) bytes[hurt.flip % bytes.length] ^= 0x55;
        writeFileSync(file, bytes);
        const t0 = performance.now();
        try {
          const spec = await loadSweepSpec(file);
          const jobs = expandSweep(spec);
          expect(jobs.length).toBeGreaterThan(0);
          expect(jobs.length).toBeLessThanOrEqual(MAX_JOBS);
          expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
        } catch (e) {
          if (!(e instanceof UsageError)) throw new Error(`expected a UsageError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
          expect(e.message).toContain(file);
          expect(e.message.split('\n')).toHaveLength(1);
        }
        const ms = performance.now() - t0;
        expect(ms, `took ${ms.toFixed(0)} ms`).toBeLessThan(caseMs);
      }),
      { numRuns: runs },
    );
  }, 600_000);
});
