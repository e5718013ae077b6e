import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLinePlot } from '../png';
import { type JobProgress, type JobResult, jobDir, readProgress, readResult } from './job';
import type { SweepJob, SweepSpec } from './spec';

/** Columns of the sweep table: result metric key -> header and digits. */
const COLUMNS: Array<{ key: string; header: string; digits: number }> = [
  { key: 'negElbo', header: 'test -ELBO (nats)', digits: 2 },
  { key: 'reconstructionMse', header: 'recon MSE', digits: 4 },
  { key: 'kl', header: 'KL (nats)', digits: 2 },
  { key: 'activeUnits', header: 'active units', digits: 1 },
  { key: 'nll', header: 'NLL (nats)', digits: 2 },
  { key: 'fid', header: 'FID (MNIST clf)', digits: 2 },
];

export interface JobRecord {
  job: SweepJob;
  state: 'done' | 'failed' | 'running' | 'waiting' | string;
  result?: JobResult;
  failure?: { reason: string; attempts: number };
  progress?: JobProgress;
}

/** What the store says about each job (result.json, failed.json, progress.json). */
export function storeRecords(store: string, jobs: SweepJob[]): JobRecord[] {
  return jobs.map((job) => {
    const result = readResult(store, job);
    if (result) return { job, state: 'done', result };
    const failedFile = join(jobDir(store, job), 'failed.json');
    if (existsSync(failedFile)) return { job, state: 'failed', failure: JSON.parse(readFileSync(failedFile, 'utf8')) as { reason: string; attempts: number } };
    const progress = readProgress(store, job);
    return { job, state: progress ? 'started' : 'waiting', progress };
  });
}

export function meanStd(values: number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

const fmt = (m: { mean: number; std: number; n: number } | undefined, digits: number) =>
  m === undefined ? 'n/a' : m.n > 1 ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : m.mean.toFixed(digits);

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface SweepTable {
  markdown: string;
  rows: Array<{ point: string; axes: Record<string, string>; seeds: number; failed: number; metrics: Record<string, { mean: number; std: number; n: number }>; parameters?: number; trainSeconds: { mean: number; std: number; n: number } | undefined }>;
  failed: Array<{ id: string; reason: string; attempts: number }>;
}

/**
 * Mean ± sample std over seeds of each grid point's metrics, one row per grid
 * point (in spec order), and the failed jobs with their reasons. Timings go to
 * table.json only, so two runs of one sweep on different pools give the same table.md.
 */
export function sweepTable(spec: Pick<SweepSpec, 'name' | 'description' | 'epochs' | 'trainLimit' | 'batchSize'>, records: JobRecord[]): SweepTable {
  const points = new Map<string, JobRecord[]>();
  for (const r of records) points.set(r.job.point, [...(points.get(r.job.point) ?? []), r]);
  const axisNames = Object.keys(records[0]?.job.axes ?? {});
  const rows: SweepTable['rows'] = [];
  for (const [point, recs] of points) {
    const done = recs.filter((r) => r.result).map((r) => r.result!);
    const metrics: Record<string, { mean: number; std: number; n: number }> = {};
    for (const c of COLUMNS) {
      const vals = done.map((d) => d.metrics[c.key]).filter((v): v is number => typeof v === 'number');
      if (vals.length > 0) metrics[c.key] = meanStd(vals);
    }
    rows.push({
      point,
      axes: recs[0].job.axes,
      seeds: done.length,
      failed: recs.filter((r) => r.state === 'failed').length,
      metrics,
      parameters: done[0]?.parameters,
      trainSeconds: done.length ? meanStd(done.map((d) => d.trainSeconds)) : undefined,
    });
  }
  const columns = COLUMNS.filter((c) => rows.some((r) => r.metrics[c.key]));
  const header = [...(axisNames.length ? axisNames : ['config']), 'seeds done', ...columns.map((c) => c.header), 'parameters'];
  const body = rows.map((r) => [
    ...(axisNames.length ? axisNames.map((a) => r.axes[a]) : [r.point]),
    `${r.seeds}${r.failed ? ` (${r.failed} failed)` : ''}`,
    ...columns.map((c) => fmt(r.metrics[c.key], c.digits)),
    r.parameters !== undefined ? r.parameters.toLocaleString('en-US') : 'n/a',
  ]);
  const failed = records.filter((r) => r.state === 'failed').map((r) => ({ id: r.job.id, reason: r.failure?.reason ?? 'unknown', attempts: r.failure?.attempts ?? 0 }));
  const notDone = records.filter((r) => r.state !== 'done' && r.state !== 'failed').length;
  const budget = `${spec.epochs} epoch(s), ${spec.trainLimit !== undefined ? `${spec.trainLimit.toLocaleString('en-US')} training images` : 'all 60,000 training images'}, batch ${spec.batchSize}`;
  const lines = [
    `# sweep ${spec.name}`,
    '',
    ...(spec.description ? [spec.description, ''] : []),
    `${points.size} grid point(s) x ${records.length / Math.max(1, points.size)} seed(s); ${budget}. Mean ± sample std over the seeds done; test set metrics.`,
    '',
    mdTable(header, body),
    '',
  ];
  if (failed.length) lines.push('Failed jobs:', '', mdTable(['job', 'tries', 'reason'], failed.map((f) => [f.id, String(f.attempts), f.reason.replace(/\|/g, '\\|')])), '');
  if (notDone) lines.push(`${notDone} job(s) not finished yet.`, '');
  return { markdown: lines.join('\n'), rows, failed };
}

/** Write table.md, table.json and one chart per metric (mean and mean ± std per grid point) to `outDir`. */
export function writeSweepReport(outDir: string, table: SweepTable, records: JobRecord[]): string[] {
  mkdirSync(outDir, { recursive: true });
  const files = ['table.md', 'table.json'];
  const charts: string[] = [];
  for (const c of COLUMNS) {
    const pts = table.rows.map((r) => r.metrics[c.key]);
    if (pts.length < 2 || pts.some((p) => p === undefined)) continue;
    const file = `${c.key}.png`;
    writeLinePlot(join(outDir, file), [
      { values: pts.map((p) => p!.mean), color: [31, 119, 180] },
      { values: pts.map((p) => p!.mean + p!.std), color: [174, 199, 232] },
      { values: pts.map((p) => p!.mean - p!.std), color: [174, 199, 232] },
    ]);
    charts.push(`${c.header} per grid point (${table.rows.map((r) => r.point).join(', ')}; dark: mean, light: ± std): ![${c.key}](${file})`);
    files.push(file);
  }
  writeFileSync(join(outDir, 'table.md'), `${table.markdown}${charts.length ? `\n${charts.join('\n\n')}\n` : ''}`);
  writeFileSync(join(outDir, 'table.json'), `${JSON.stringify({ rows: table.rows, failed: table.failed, jobs: records.map((r) => ({ id: r.job.id, state: r.state, result: r.result, failure: r.failure })) }, null, 2)}\n`);
  return files;
}

/** One line per job: state, step of total, rate and the time left. */
export function statusLines(records: JobRecord[], now = Date.now()): string[] {
  const out: string[] = [];
  for (const r of records) {
    let detail = '';
    if (r.state === 'done' && r.result) detail = `${r.result.steps} steps, -ELBO ${r.result.metrics.negElbo?.toFixed(2) ?? 'n/a'}`;
    else if (r.state === 'failed') detail = `${r.failure?.reason ?? ''}`;
    else if (r.progress && r.progress.totalSteps > 0) {
      const p = r.progress;
      const left = p.totalSteps - p.step;
      const eta = p.stepsPerSecond > 0 ? `ETA ${Math.ceil(left / p.stepsPerSecond)} s` : 'ETA n/a';
      const age = Math.round((now - p.updatedAt) / 1000);
      detail = `step ${p.step}/${p.totalSteps} (${((100 * p.step) / p.totalSteps).toFixed(0)}%), ${p.stepsPerSecond.toFixed(1)} steps/s, ${eta}, on ${p.worker}${age > 30 ? `, last update ${age} s ago` : ''}`;
    }
    out.push(`${r.job.id.padEnd(36)} ${r.state.padEnd(8)} ${detail}`);
  }
  const count = (s: string) => records.filter((r) => r.state === s).length;
  out.push(`${count('done')} done, ${count('failed')} failed, ${records.length - count('done') - count('failed')} to go (of ${records.length})`);
  return out;
}
