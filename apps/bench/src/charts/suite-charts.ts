import type { TopLevelSpec } from 'vega-lite';

/** One measured quantity of a suite, drawn as its own panel. */
export interface SuitePanel {
  /** Key in each row. */
  field: string;
  /** Axis title, with units. */
  title: string;
}

/** A suite's rows as a chart: the varied setting on x, one panel per metric. */
export interface SuiteChart {
  title: string;
  /** The varied setting: key, axis title, and how to lay it out (log for beta and latent sizes, band for names). */
  x: { field: string; title: string; scale: 'log' | 'linear' | 'band' };
  panels: SuitePanel[];
  rows: Array<Record<string, number | string | undefined>>;
  /** Rows drawn in a second colour, e.g. beta-TCVAE next to beta-VAE: the key holding the series name. */
  series?: string;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A suite chart as a Vega-Lite spec: panels side by side, each with its own y
 * axis. Numeric settings get lines with points (log x for beta and latent
 * sizes); named settings (architectures) get bars with the value on each bar.
 * Missing values (a metric a row did not measure) are left out, not drawn as 0.
 */
export function suiteChartSpec(chart: SuiteChart): TopLevelSpec {
  const panels = chart.panels
    .map((p) => {
      const values = chart.rows
        .filter((r) => finite(r[p.field]) && (chart.x.scale === 'band' || finite(r[chart.x.field])))
        .map((r) => ({ x: r[chart.x.field], y: r[p.field] as number, series: chart.series ? String(r[chart.series] ?? '') : chart.title }));
      return { p, values };
    })
    .filter(({ values }) => values.length > 0)
    .map(({ p, values }) => {
      const y = { field: 'y', type: 'quantitative', title: p.title, scale: { zero: chart.x.scale === 'band' } };
      if (chart.x.scale === 'band') {
        const x = { field: 'x', type: 'nominal', title: chart.x.title, sort: null, axis: { labelAngle: 0 } };
        return {
          width: 240,
          height: 200,
          data: { values },
          layer: [
            { mark: { type: 'bar', color: '#1f77b4' }, encoding: { x, y } },
            { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y, text: { field: 'y', type: 'quantitative', format: ',.4~r' } } },
          ],
        };
      }
      const xs = values.map((v) => v.x as number);
      return {
        width: 240,
        height: 200,
        data: { values },
        mark: { type: 'line', point: { size: 50, filled: true }, strokeWidth: 2 },
        encoding: {
          x: {
            field: 'x',
            type: 'quantitative',
            title: chart.x.title,
            scale: chart.x.scale === 'log' ? { type: 'log', domain: [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3] } : { zero: false },
            // Ticks at the measured settings: a log axis with few rows otherwise labels powers of ten only.
            axis: { values: [...new Set(xs)].sort((a, b) => a - b), format: '~g' },
          },
          y,
          color: chart.series ? { field: 'series', type: 'nominal', title: null } : { value: '#1f77b4' },
        },
      };
    });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    hconcat: panels,
  } as TopLevelSpec;
}

/** The beta suite: beta against reconstruction MSE, KL and MIG (dSprites), FID when measured. */
export function betaSuiteChart(rows: Array<{ beta: number; mse?: number; kl?: number; mig?: number; fid?: number; model?: string }>): SuiteChart {
  return {
    title: 'beta suite: the KL weight trades reconstruction for a simpler, more disentangled code',
    x: { field: 'beta', title: 'beta (KL weight, log scale)', scale: 'log' },
    panels: [
      { field: 'mse', title: 'reconstruction MSE (per pixel)' },
      { field: 'kl', title: 'KL (nats per example)' },
      { field: 'mig', title: 'MIG on dSprites (0-1)' },
      { field: 'fid', title: 'FID (MNIST classifier)' },
    ],
    rows,
    series: rows.some((r) => r.model !== undefined) ? 'model' : undefined,
  };
}

/** The latent suite: latent size against test -ELBO and FID. */
export function latentSuiteChart(rows: Array<{ latentDim: number; negElbo?: number; fid?: number; activeUnits?: number }>): SuiteChart {
  return {
    title: 'latent suite: latent size against test -ELBO and FID',
    x: { field: 'latentDim', title: 'latent dimensions (log scale)', scale: 'log' },
    panels: [
      { field: 'negElbo', title: 'test -ELBO (nats per example)' },
      { field: 'fid', title: 'FID (MNIST classifier)' },
      { field: 'activeUnits', title: 'active units' },
    ],
    rows,
  };
}

/** The arch suite: architecture against FID, parameters and test -ELBO. */
export function archSuiteChart(rows: Array<{ architecture: string; fid?: number; parameters?: number; negElbo?: number }>): SuiteChart {
  return {
    title: 'arch suite: architecture against FID, size and test -ELBO',
    x: { field: 'architecture', title: 'architecture', scale: 'band' },
    panels: [
      { field: 'fid', title: 'FID (MNIST classifier)' },
      { field: 'parameters', title: 'parameters' },
      { field: 'negElbo', title: 'test -ELBO (nats per example)' },
    ],
    rows,
  };
}
