import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { evalTable, readRunMetrics, writeRunReport } from './report';
import type { RunReport } from './train-run';

function runFolder(): { dir: string; report: RunReport } {
  const dir = mkdtempSync(join(tmpdir(), 'elbo-report-'));
  const lines: string[] = [];
  const history = [];
  for (let e = 0; e < 2; e++) {
    for (let i = 1; i <= 10; i++) {
      const step = e * 10 + i;
      const terms = { reconstruction: 200 - 5 * step, kl: step, elbo: -(200 - 4 * step), klWeight: Math.min(1, step / 10) };
      lines.push(JSON.stringify({ type: 'step', step, epoch: e, loss: 200 - 4 * step, terms, klWeight: terms.klWeight }));
    }
    const log = { epoch: e, step: (e + 1) * 10, train: { loss: 180 - 40 * e, reconstruction: 170 - 50 * e, kl: 5 + 10 * e }, validation: { loss: 182 - 40 * e, reconstruction: 171 - 50 * e, kl: 5 + 10 * e }, lr: 1e-3, seconds: 1, samplesPerSecond: 100 };
    lines.push(JSON.stringify({ type: 'epoch', ...log }));
    history.push(log);
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n{"type":"step","step":`); // a last line cut off by a crash
  const png = new PNG({ width: 4, height: 4 });
  writeFileSync(join(dir, 'samples.png'), PNG.sync.write(png));
  const report = {
    name: 'unit',
    variant: 'probe',
    config: { variant: 'probe', latentDim: 2 },
    backend: 'cpu',
    parameters: 1234,
    epochs: 2,
    steps: 20,
    trainSeconds: 2,
    samplesPerSecond: 100,
    history,
    evaluation: { terms: { elbo: -120.5, loss: 120.5, reconstruction: 100.25, kl: 20.25 }, reconstructionMse: 0.0123, reconstructionSsim: 0.8, activeUnits: 2 },
    files: ['samples.png'],
  } as unknown as RunReport;
  return { dir, report };
}

describe('run report', () => {
  it('reads the metrics log, skipping a cut-off last line', () => {
    const { dir } = runFolder();
    const log = readRunMetrics(dir);
    expect(log.steps).toHaveLength(20);
    expect(log.epochs.map((e) => e.step)).toEqual([10, 20]);
  });

  it('writes loss-curve.svg/.png, report.md with the PNGs and a self-contained report.html', async () => {
    const { dir, report } = runFolder();
    const files = await writeRunReport(dir, report);
    expect(files).toEqual(['loss-curve.png', 'loss-curve.svg', 'report.html']);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('| test -ELBO (nats/example) | 120.50 |');
    expect(md).toContain('![loss curves](loss-curve.png)');
    expect(md).toContain('![samples.png](samples.png)');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toMatch(/<figure><svg [^>]*>/);
    expect(html).toContain('>reconstruction (nats per example)<');
    expect(html).toContain('src="data:image/png;base64,');
    // Works offline: nothing is fetched (no http(s) src/href, no external stylesheet or script).
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/<script|<link/);
    const png = PNG.sync.read(readFileSync(join(dir, 'loss-curve.png')));
    expect(png.width).toBeGreaterThan(600);
  });

  it('eval prints a readable table', () => {
    const table = evalTable({ terms: { elbo: -101.234, loss: 101.234, kl: 25.5 }, reconstructionMse: 0.0095, reconstructionSsim: 0.91, activeUnits: 20 });
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^metric\s+value$/);
    expect(table).toMatch(/test -ELBO \(nats\/example\)\s+101\.23/);
    expect(table).toMatch(/active units\s+20/);
    expect(table).not.toContain('n/a');
    // Values right-aligned in one column.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});
