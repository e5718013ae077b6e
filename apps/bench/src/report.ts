import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KlWeightConfig, klWeightSchedule } from '@elbo/core';
import type { TopLevelSpec } from 'vega-lite';
import { type EpochRecord, lossCurveSpec, parseMetricsLog, type StepRecord } from './charts/loss-curves';
import { renderChart } from './charts/render';
import { type SuiteChart, suiteChartSpec } from './charts/suite-charts';
import type { EvalResult } from './evaluate';
import type { RunReport } from './train-run';

const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

/** Render a chart to `<name>.svg` and `<name>.png` in dir; returns the SVG text and the file names. */
export async function writeChart(dir: string, name: string, spec: TopLevelSpec): Promise<{ svg: string; files: string[] }> {
  const chart = await renderChart(spec);
  writeFileSync(join(dir, `${name}.svg`), chart.svg);
  writeFileSync(join(dir, `${name}.png`), chart.png);
  return { svg: chart.svg, files: [`${name}.png`, `${name}.svg`] };
}

/** The evaluation as labelled rows: what the report and `eval` print. */
export function evalRows(e: EvalResult, variant?: string): Array<[string, string]> {
  return [
    ['test -ELBO (nats/example)', fmt(e.terms.elbo !== undefined ? -e.terms.elbo : undefined)],
    ['test loss (as trained, nats/example)', fmt(e.terms.loss)],
    ['reconstruction term (nats/example)', fmt(e.terms.reconstruction)],
    ['KL (nats/example)', fmt(e.terms.kl)],
    ['reconstruction MSE (per pixel)', fmt(e.reconstructionMse, 5)],
    ['reconstruction SSIM', fmt(e.reconstructionSsim, 4)],
    ['active units', e.activeUnits === undefined ? 'n/a' : String(e.activeUnits)],
    ['NLL (importance sampled, nats/example)', fmt(e.nll)],
    ['NLL (bits/dim)', fmt(e.nllBitsPerDim, 4)],
    ['FID (MNIST classifier)', fmt(e.fid)],
    ...Object.entries((e as { variant?: Record<string, number> }).variant ?? {}).map(([k, v]): [string, string] => [`${variant ?? 'variant'}: ${k}`, fmt(v, 4)]),
  ];
}

/** A two-column text table for the terminal (`eval` prints it; metrics.json keeps the raw numbers). */
export function textTable(rows: Array<[string, string]>, header: [string, string] = ['metric', 'value']): string {
  const w0 = Math.max(header[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(header[1].length, ...rows.map((r) => r[1].length));
  const line = (a: string, b: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}`;
  return [line(...header), `${'-'.repeat(w0)}  ${'-'.repeat(w1)}`, ...rows.map(([a, b]) => line(a, b))].join('\n');
}

/** The evaluation of a saved model as a readable table. */
export function evalTable(result: EvalResult, variant?: string): string {
  return textTable(evalRows(result, variant).filter(([, v]) => v !== 'n/a'));
}

/**
 * The step and epoch records of every metrics*.jsonl in a run folder (one per
 * training phase), phases one after another on one step axis.
 */
export function readRunMetrics(dir: string): { steps: StepRecord[]; epochs: EpochRecord[] } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^metrics(-.+)?\.jsonl$/.test(f)) : [];
  // Phases in the order they were written.
  files.sort((a, b) => statSync(join(dir, a)).mtimeMs - statSync(join(dir, b)).mtimeMs || (a === 'metrics.jsonl' ? -1 : 1));
  const steps: StepRecord[] = [];
  const epochs: EpochRecord[] = [];
  let offset = 0;
  let epochOffset = 0;
  for (const f of files) {
    const log = parseMetricsLog(readFileSync(join(dir, f), 'utf8'));
    // metrics.jsonl is the first phase, metrics-<phase>.jsonl the others.
    const phase = /^metrics-(.+)\.jsonl$/.exec(f)?.[1] ?? 'train';
    for (const s of log.steps) steps.push({ ...s, step: s.step + offset, phase });
    for (const e of log.epochs) epochs.push({ ...e, step: e.step + offset, epoch: e.epoch + epochOffset, phase });
    offset = Math.max(offset, ...steps.map((s) => s.step), ...epochs.map((e) => e.step));
    epochOffset = epochs.length;
  }
  return { steps, epochs };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The run's KL-weight schedule from its config (every step, not only the logged ones), if it has one. */
function scheduleOf(report: RunReport): ((step: number) => number) | undefined {
  const spec = (report.config as { klWeight?: unknown }).klWeight;
  if (spec === undefined) return undefined;
  try {
    return klWeightSchedule(spec as KlWeightConfig);
  } catch {
    return undefined; // a config this core cannot read as a schedule: the logged weights are drawn instead
  }
}

/**
 * Write a run's charts and reports: loss-curve.svg/.png (every loss term in
 * nats per example against the step, train and validation, and the KL-weight
 * schedule), report.md (the metrics table and the PNGs) and report.html (the
 * same, self-contained: the chart inline as SVG, the pictures as data URIs).
 * Returns the chart files written (report.md and report.html are always there).
 */
export async function writeRunReport(dir: string, report: RunReport): Promise<string[]> {
  const log = readRunMetrics(dir);
  const epochs = log.epochs.length ? log.epochs : report.history;
  const curve = await writeChart(dir, 'loss-curve', lossCurveSpec({ steps: log.steps, epochs, title: `Loss curves: ${report.name} (${report.variant})`, klWeight: scheduleOf(report) }));
  const pictures = report.files.filter((f) => f.endsWith('.png') && !curve.files.includes(f));
  const rows = [
    ...evalRows(report.evaluation, report.variant),
    ['train samples/s', fmt(report.samplesPerSecond, 0)] as [string, string],
    ['backend', report.backend] as [string, string],
    ['parameters', report.parameters.toLocaleString('en-US')] as [string, string],
  ];
  const summary = `Variant \`${report.variant}\`, ${report.epochs} epoch(s), ${report.steps} steps, ${report.trainSeconds.toFixed(1)} s of training.`;
  const md = [
    `# ${report.name}`,
    '',
    summary,
    '',
    '| metric | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Loss curves',
    '',
    '![loss curves](loss-curve.png)',
    '',
    ...(pictures.length ? ['## Pictures', '', ...pictures.flatMap((f) => [`${f.replace(/\.png$/, '')}:`, '', `![${f}](${f})`, ''])] : []),
    '## Config',
    '',
    '```json',
    JSON.stringify(report.config, null, 2),
    '```',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'report.md'), md);
  const dataUri = (f: string) => `data:image/png;base64,${readFileSync(join(dir, f)).toString('base64')}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.name)}: elbo run report</title>
<style>
body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 3px 12px; text-align: left; } td.v { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; } img.grid { image-rendering: pixelated; width: 100%; max-width: 480px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
</style></head><body>
<h1>${escapeHtml(report.name)}</h1>
<p>${escapeHtml(summary.replace(/`/g, ''))}</p>
<table><tr><th>metric</th><th>value</th></tr>
${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="v">${escapeHtml(v)}</td></tr>`).join('\n')}
</table>
<h2>Loss curves</h2>
<figure>${curve.svg}</figure>
${pictures.length ? `<h2>Pictures</h2>\n${pictures.map((f) => `<figure><img class="grid" alt="${escapeHtml(f)}" src="${dataUri(f)}"><figcaption>${escapeHtml(f)}</figcaption></figure>`).join('\n')}` : ''}
<h2>Config</h2>
<pre>${escapeHtml(JSON.stringify(report.config, null, 2))}</pre>
</body></html>
`;
  writeFileSync(join(dir, 'report.html'), html);
  return [...curve.files, 'report.html'];
}

/**
 * A suite's chart beside its table: chart.svg/.png in the suite folder, and
 * report.md / report.html with the table and the chart. Returns the markdown
 * image line for table.md.
 */
export async function writeSuiteReport(dir: string, chart: SuiteChart, tableMarkdown: string): Promise<string[]> {
  const rendered = await writeChart(dir, 'chart', suiteChartSpec(chart));
  writeFileSync(join(dir, 'report.md'), `# ${chart.title}\n\n${tableMarkdown}\n\n![${chart.title}](chart.png)\n`);
  const rows = tableMarkdown.split('\n').filter((l) => l.startsWith('|') && !/^\|[-|\s]+\|$/.test(l));
  const cells = (l: string) => l.slice(1, -1).split('|').map((c) => escapeHtml(c.trim()));
  const [head, ...body] = rows;
  const table = head ? `<table><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr>\n${body.map((r) => `<tr>${cells(r).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</table>` : '';
  writeFileSync(
    join(dir, 'report.html'),
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(chart.title)}</title>
<style>body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 2em auto; max-width: 1400px; } table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 3px 12px; }</style>
</head><body>\n<h1>${escapeHtml(chart.title)}</h1>\n${table}\n<figure>${rendered.svg}</figure>\n</body></html>\n`,
  );
  return [...rendered.files, 'report.md', 'report.html'];
}
