import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { type EpochRecord, lossCurveSpec, type StepRecord, termUnit } from './loss-curves';
import { renderChart } from './render';
import { archSuiteChart, betaSuiteChart, latentSuiteChart, suiteChartSpec } from './suite-charts';

/** A made-up but VAE-shaped run: reconstruction falls, KL rises under a linear KL warm-up. */
function fakeRun(epochs = 3, perEpoch = 40) {
  const steps: StepRecord[] = [];
  const epochLogs: EpochRecord[] = [];
  for (let e = 0; e < epochs; e++) {
    for (let i = 1; i <= perEpoch; i++) {
      const step = e * perEpoch + i;
      const klWeight = Math.min(1, step / 60);
      const reconstruction = 90 + 200 * Math.exp(-step / 25) + 3 * Math.sin(step);
      const kl = 25 * (1 - Math.exp(-step / 30));
      steps.push({ step, epoch: e, loss: reconstruction + klWeight * kl, terms: { reconstruction, kl, elbo: -(reconstruction + kl), klWeight }, klWeight });
    }
    const mine = steps.slice(-perEpoch);
    const mean = (f: (s: StepRecord) => number) => mine.reduce((a, s) => a + f(s), 0) / mine.length;
    const train = { loss: mean((s) => s.loss), reconstruction: mean((s) => s.terms!.reconstruction), kl: mean((s) => s.terms!.kl), klWeight: 1 };
    epochLogs.push({ epoch: e, step: (e + 1) * perEpoch, train, validation: { loss: train.loss + 2, reconstruction: train.reconstruction + 2, kl: train.kl } });
  }
  return { steps, epochs: epochLogs };
}

describe('loss curves', () => {
  it('draw one line per term and split, axis titles in nats and steps, and the KL-weight schedule; the PNG renders at its size', async () => {
    const chart = await renderChart(lossCurveSpec({ ...fakeRun(), title: 'Loss curves: test run' }));
    const dir = process.env.ELBO_CHARTS_OUT ?? mkdtempSync(join(tmpdir(), 'elbo-charts-'));
    writeFileSync(join(dir, 'loss-curve.svg'), chart.svg);
    writeFileSync(join(dir, 'loss-curve.png'), chart.png);
    expect(chart.svg.startsWith('<svg')).toBe(true);
    for (const text of ['Loss curves: test run', 'total loss (nats per example)', 'reconstruction (nats per example)', 'KL (nats per example)', 'KL weight (schedule)', 'nats', 'step (dotted lines: epoch ends)', 'KL weight', 'train (logged steps)', 'train (epoch mean)', 'validation (end of epoch)']) {
      expect(chart.svg.includes(`>${text}<`), text).toBe(true);
    }
    // elbo (minus the total) and the weight are not drawn as loss panels.
    expect(chart.svg).not.toContain('>elbo (nats per example)<');
    // Line marks: per term, the per-step line and the two epoch-mean lines (train, validation); plus the KL weight.
    const lines = chart.svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? [];
    expect(lines).toHaveLength(3 * 3 + 1);
    const png = PNG.sync.read(chart.png);
    expect([png.width, png.height]).toEqual([chart.width, chart.height]);
    const w = Number(/<svg[^>]* width="(\d+)"/.exec(chart.svg)?.[1]);
    expect(png.width).toBe(2 * w);
    // Not blank: some pixels are dark (text, axes).
    let dark = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 100 && png.data[i + 1] < 100 && png.data[i + 2] < 100) dark++;
    expect(dark).toBeGreaterThan(1000);
    console.log(`loss curve written to ${dir}`);
  });
});

describe('suite charts', () => {
  it('beta, latent and arch suites: one titled panel per metric, missing values left out', async () => {
    const dir = process.env.ELBO_CHARTS_OUT ?? mkdtempSync(join(tmpdir(), 'elbo-charts-'));
    const beta = await renderChart(
      suiteChartSpec(
        betaSuiteChart([
          { beta: 0.5, mse: 0.011, kl: 31.2, mig: 0.05, fid: 40, model: 'KL-weighted' },
          { beta: 1, mse: 0.013, kl: 25.1, mig: 0.08, fid: 38, model: 'KL-weighted' },
          { beta: 4, mse: 0.024, kl: 14.9, mig: 0.21, fid: 52, model: 'KL-weighted' },
          { beta: 10, mse: 0.041, kl: 8.2, mig: 0.27, fid: 80, model: 'KL-weighted' },
          { beta: 4, mig: 0.31, model: 'TC-weighted' },
        ]),
      ),
    );
    writeFileSync(join(dir, 'suite-beta.png'), beta.png);
    for (const text of ['reconstruction MSE (per pixel)', 'KL (nats per example)', 'MIG on dSprites (0-1)', 'FID (MNIST classifier)', 'beta (KL weight, log scale)', 'TC-weighted']) {
      expect(beta.svg.includes(`>${text}<`), text).toBe(true);
    }
    // The KL-weighted model in four panels; the TC-weighted one only where it was measured (MIG).
    expect(beta.svg.match(/<path[^>]*aria-roledescription="line mark"/g)).toHaveLength(5);

    const latent = await renderChart(suiteChartSpec(latentSuiteChart([10, 20, 50, 128].map((d, i) => ({ latentDim: d, negElbo: 110 - i, fid: 30 + i, activeUnits: Math.min(d, 22) })))));
    writeFileSync(join(dir, 'suite-latent.png'), latent.png);
    expect(latent.svg.includes('>latent dimensions (log scale)<')).toBe(true);
    expect(latent.svg.includes('>128<')).toBe(true);

    const arch = await renderChart(
      suiteChartSpec(
        archSuiteChart([
          { architecture: 'mlp-2', fid: 184, parameters: 1_000_000, negElbo: 117.8 },
          { architecture: 'conv', fid: 110, parameters: 400_000, negElbo: 109.3 },
          { architecture: 'resnet', fid: 87, parameters: 300_000 },
        ]),
      ),
    );
    writeFileSync(join(dir, 'suite-arch.png'), arch.png);
    expect(arch.svg.match(/aria-roledescription="bar"/g)).toHaveLength(3 + 3 + 2);
    const png = PNG.sync.read(arch.png);
    expect([png.width, png.height]).toEqual([arch.width, arch.height]);
  });
});

describe('KL-weight panel', () => {
  it('draws the schedule itself over every step when given, not only the logged steps', () => {
    const run = fakeRun(2, 30);
    const logged = run.steps.filter((s) => s.step % 25 === 0);
    const spec = lossCurveSpec({ steps: logged, epochs: run.epochs, klWeight: (step) => Math.min(1, step / 40) }) as unknown as { vconcat: Array<{ data?: { values: Array<{ step: number; klWeight: number }> } }> };
    const weights = spec.vconcat.at(-1)!.data!.values;
    expect(weights[0]).toEqual({ step: 0, klWeight: 0 });
    expect(weights).toHaveLength(61);
    expect(weights.at(-1)).toEqual({ step: 60, klWeight: 1 });
    // Without the schedule, the logged weights.
    const fromLog = lossCurveSpec({ steps: logged, epochs: run.epochs }) as unknown as typeof spec;
    expect(fromLog.vconcat.at(-1)!.data!.values.map((w) => w.step)).toEqual([25, 50]);
  });
});

describe('term units', () => {
  it('loss terms are nats per example; perplexity, fractions and bits are labelled as such', () => {
    expect(termUnit('reconstruction').panel).toBe('nats per example');
    expect(termUnit('priorNll').panel).toBe('nats per example');
    expect(termUnit('perplexity').panel).toBe('codes');
    expect(termUnit('codesUsed').panel).toBe('fraction');
    expect(termUnit('priorBitsPerCode').panel).toBe('bits');
  });
});
