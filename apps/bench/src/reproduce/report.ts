import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeChart } from '../report';
import type { Budget, Protocol } from './protocols';
import type { SeedResult } from './run';

/** One point of the test-NLL curve (nll-curve.jsonl): a cheaper estimate every --eval-every epochs. */
export interface CurvePoint {
  framework: 'elbo' | 'pytorch';
  seed: number;
  /** Epochs completed. */
  epoch: number;
  step: number;
  nll: number;
  samples: number;
  examples: number;
  trainLoss?: number;
  seconds: number;
}

export function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Mean ± sample standard deviation over seeds; one seed has no spread, so it prints alone; none prints n/a. */
export function meanPlusMinus(values: number[], digits: number): string {
  if (values.length === 0) return 'n/a';
  if (values.length === 1) return values[0].toFixed(digits);
  return `${mean(values).toFixed(digits)} ± ${std(values).toFixed(digits)}`;
}

const pm = meanPlusMinus;

/** The test-NLL curve per framework and seed. */
export function nllCurveSpec(protocol: string, points: CurvePoint[]): TopLevelSpec {
  const k = points[0]?.samples;
  const n = points[0]?.examples;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `reproduce ${protocol}: test NLL during training (k=${k}, first ${n} test images)`,
    width: 520,
    height: 300,
    data: { values: points.map((p) => ({ ...p, run: `${p.framework} seed ${p.seed}` })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'nll', type: 'quantitative', title: 'test NLL (nats)', scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run' },
      strokeDash: { field: 'framework', type: 'nominal', title: 'framework' },
    },
  } as TopLevelSpec;
}

export interface ReproduceReport {
  protocol: Protocol;
  /** The --ablate fields as printed, when the run changed the protocol's model. */
  ablation?: string;
  budget: Budget;
  budgetText: string;
  note: string;
  results: SeedResult[];
  pytorch?: SeedResult[];
  curve: CurvePoint[];
  nllSamples: number;
  testImages?: number;
}


/** metrics.json, report.md (one table row) and, with a curve, nll-curve.png/svg; returns the chart files. */
export async function writeReproduceReport(dir: string, r: ReproduceReport): Promise<string[]> {
  const p = r.protocol;
  const name = r.ablation ? `${p.name} (ablation ${r.ablation})` : p.name;
  const nllOf = (rs: SeedResult[] | undefined) => (rs ?? []).map((x) => x.nll!).filter((v) => v !== undefined);
  const summary =
    p.evaluation.kind === 'nll'
      ? {
          nll: { mean: mean(nllOf(r.results)), std: std(nllOf(r.results)), samples: r.nllSamples, testImages: r.testImages },
          ...(r.pytorch ? { pytorch: { mean: mean(nllOf(r.pytorch)), std: std(nllOf(r.pytorch)), differenceNats: mean(nllOf(r.results)) - mean(nllOf(r.pytorch)) } } : {}),
        }
      : {
          mig: { mean: mean(r.results.map((x) => x.mig!)), std: std(r.results.map((x) => x.mig!)) },
          sap: { mean: mean(r.results.map((x) => x.sap!)), std: std(r.results.map((x) => x.sap!)) },
        };
  writeFileSync(
    join(dir, 'metrics.json'),
    `${JSON.stringify({ protocol: p.name, ...(r.ablation ? { ablation: r.ablation } : {}), source: p.source, paper: p.paper ?? null, budget: r.budget, seeds: r.results.map(({ key: _key, ...rest }) => rest), ...(r.pytorch ? { pytorchSeeds: r.pytorch.map(({ key: _key, ...rest }) => rest) } : {}), ...summary }, null, 2)}\n`,
  );
  // Authors and year: the table's source column (the full citation is above it).
  const shortSource = p.source.match(/^.*?\(\d{4}\)/)?.[0] ?? p.source;
  const header = ['protocol', 'source', 'budget', 'elbo', 'PyTorch (equal budget)', 'paper', 'time (elbo / PyTorch)'];
  const secs = (rs: SeedResult[] | undefined) => (rs?.length ? `${mean(rs.map((x) => x.secondsPerEpoch)).toFixed(1)} s/epoch` : 'n/a');
  const row =
    p.evaluation.kind === 'nll'
      ? [
          name,
          shortSource,
          `${r.budgetText}${r.note ? ` (${r.note})` : ''}, ${r.results.length} seed(s), k=${r.nllSamples}, ${r.testImages} test images`,
          `NLL ${pm(nllOf(r.results), 2)}`,
          r.pytorch ? `NLL ${pm(nllOf(r.pytorch), 2)}` : 'not run',
          p.paper ? `${p.paper.value.toFixed(2)} (${p.paper.where})` : 'none (a baseline)',
          `${secs(r.results)} / ${secs(r.pytorch)}`,
        ]
      : [
          name,
          shortSource,
          `${r.budgetText}, ${r.results.length} seed(s)`,
          `MIG ${pm(r.results.map((x) => x.mig!), 3)}, SAP ${pm(r.results.map((x) => x.sap!), 3)}`,
          'not run',
          'distributions over 50 seeds (no single figure)',
          `${(1000 * mean(r.results.map((x) => x.secondsPerStep))).toFixed(0)} ms/step / n/a`,
        ];
  const md = [
    `# reproduce ${p.name}`,
    '',
    `Source: ${p.source}.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    `| ${row.join(' | ')} |`,
    '',
    'Where elbo differs from the paper:',
    '',
    ...p.differences.map((d) => `- ${d}`),
    ...(r.pytorch ? ['- the PyTorch reference draws its own initial weights, batch order and binarisation from the same seed numbers: seeds are not the same draws across frameworks'] : []),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'report.md'), md);
  if (r.curve.length === 0) return [];
  const { files } = await writeChart(dir, 'nll-curve', nllCurveSpec(p.name, r.curve));
  return ['nll-curve.jsonl', ...files];
}
