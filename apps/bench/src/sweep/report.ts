import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeChart } from '../report';
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

/**
 * The table as a Vega-Lite chart: the first axis on x (log scale for positive numbers spanning
 * a decade or more, names as categories), one panel per metric, the mean with a ± std error bar,
 * one colour per value of the other axes.
 */
export function sweepChartSpec(title: string, table: SweepTable): TopLevelSpec | undefined {
  const axisNames = Object.keys(table.rows[0]?.axes ?? {});
  if (table.rows.length < 2 || axisNames.length === 0) return undefined;
  const [xName, ...others] = axisNames;
  const numeric = table.rows.every((r) => r.axes[xName] !== '' && Number.isFinite(Number(r.axes[xName])));
  const xs = numeric ? table.rows.map((r) => Number(r.axes[xName])) : [];
  const log = numeric && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 8;
  const x = numeric
    ? { field: 'x', type: 'quantitative', title: xName, scale: log ? { type: 'log' } : { zero: false }, axis: { values: [...new Set(xs)].sort((a, b) => a - b), format: '~g' } }
    : { field: 'x', type: 'nominal', title: xName, sort: null, axis: { labelAngle: 0 } };
  const panels = COLUMNS.filter((c) => table.rows.some((r) => r.metrics[c.key])).map((c) => {
    const values = table.rows
      .filter((r) => r.metrics[c.key])
      .map((r) => {
        const m = r.metrics[c.key];
        return { x: numeric ? Number(r.axes[xName]) : r.axes[xName], series: others.map((o) => `${o} ${r.axes[o]}`).join(', ') || title, mean: m.mean, lo: m.mean - m.std, hi: m.mean + m.std };
      });
    const color = others.length ? { field: 'series', type: 'nominal', title: null } : { value: '#1f77b4' };
    return {
      width: 220,
      height: 180,
      data: { values },
      layer: [
        { mark: { type: 'line', point: { size: 40, filled: true } }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: c.header, scale: { zero: false } }, color } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: c.header }, y2: { field: 'hi' }, color } },
      ],
    };
  });
  if (panels.length === 0) return undefined;
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: `sweep ${title}: mean ± std over seeds`, hconcat: panels } as unknown as TopLevelSpec;
}

const escapeHtml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The suite report format: table.md and table.json, chart.png/svg (mean ± std per grid point),
 * report.md and a standalone report.html with the table and the chart.
 */
export async function writeSweepReport(outDir: string, name: string, table: SweepTable, records: JobRecord[]): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files = ['table.md', 'table.json'];
  const spec = sweepChartSpec(name, table);
  const chart = spec ? await writeChart(outDir, 'chart', spec) : undefined;
  if (chart) files.push(...chart.files);
  const chartLine = chart ? '\n![mean ± std over seeds per grid point](chart.png)\n' : '';
  writeFileSync(join(outDir, 'table.md'), table.markdown);
  writeFileSync(join(outDir, 'table.json'), `${JSON.stringify({ rows: table.rows, failed: table.failed, jobs: records.map((r) => ({ id: r.job.id, state: r.state, result: r.result, failure: r.failure })) }, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), `${table.markdown}${chartLine}`);
  const html = table.markdown
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      if (!lines[0].startsWith('|')) return lines[0].startsWith('# ') ? `<h1>${escapeHtml(lines[0].slice(2))}</h1>` : `<p>${escapeHtml(block)}</p>`;
      const cells = (l: string) => l.slice(1, -1).split('|').map((c) => escapeHtml(c.trim()));
      const [head, , ...body] = lines;
      return `<table><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr>\n${body.map((r) => `<tr>${cells(r).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</table>`;
    })
    .join('\n');
  writeFileSync(
    join(outDir, 'report.html'),
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>sweep ${escapeHtml(name)}</title>
<style>body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 2em auto; max-width: 1400px; } table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 3px 12px; }</style>
</head><body>\n${html}\n${chart ? `<figure>${chart.svg}</figure>` : ''}\n</body></html>\n`,
  );
  files.push('report.md', 'report.html');
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
      const where = `on ${p.worker}${age > 30 ? `, last update ${age} s ago` : ''}`;
      detail = left <= 0 ? `${p.totalSteps} steps trained, evaluating, ${where}` : `step ${p.step}/${p.totalSteps} (${((100 * p.step) / p.totalSteps).toFixed(0)}%), ${p.stepsPerSecond.toFixed(1)} steps/s, ${eta}, ${where}`;
    }
    out.push(`${r.job.id.padEnd(36)} ${r.state.padEnd(8)} ${detail}`);
  }
  const count = (s: string) => records.filter((r) => r.state === s).length;
  out.push(`${count('done')} done, ${count('failed')} failed, ${records.length - count('done') - count('failed')} to go (of ${records.length})`);
  return out;
}
