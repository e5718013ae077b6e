import type { TopLevelSpec } from 'vega-lite';

/** One training step as metrics.jsonl records it (`{"type":"step",...}`). */
export interface StepRecord {
  step: number;
  epoch?: number;
  loss: number;
  terms?: Record<string, number>;
  /** The KL weight the step used (a schedule's value), when the model has one. */
  klWeight?: number;
  /** Training phase (a variant may train in phases, e.g. a prior after the autoencoder): lines do not join across phases. */
  phase?: string;
}

/** One epoch's means (core's EpochLog, or its metrics.jsonl record). */
export interface EpochRecord {
  epoch: number;
  /** Global step at the end of the epoch. */
  step: number;
  train: Record<string, number>;
  validation?: Record<string, number>;
  phase?: string;
}

/** Term names that are weights or duplicates, not losses in nats: drawn apart (klWeight) or not at all. */
const WEIGHT_TERMS = new Set(['klWeight', 'beta', 'tcWeight', 'commitmentWeight', 'capacity', 'weight']);
/** The ELBO is minus the total loss of a plain VAE: the total is drawn instead. */
const SKIPPED_TERMS = new Set(['elbo']);

const SERIES = ['train (logged steps)', 'train (epoch mean)', 'validation (end of epoch)'] as const;

/**
 * The unit of a reported term: loss terms are nats per example; a few
 * reported alongside them are not (VQ-VAE's codebook perplexity and the
 * fraction of codes used, anything in bits).
 */
export function termUnit(term: string): { panel: string; axis: string } {
  if (/bits/i.test(term)) return { panel: 'bits', axis: 'bits' };
  if (/perplexity/i.test(term)) return { panel: 'codes', axis: 'codes' };
  if (/used|fraction/i.test(term)) return { panel: 'fraction', axis: 'fraction' };
  return { panel: 'nats per example', axis: 'nats' };
}

/** Display name of a loss term: 'loss' is the total. */
function termTitle(term: string): string {
  if (term === 'loss') return 'total loss';
  if (term === 'kl') return 'KL';
  return term;
}

/** Read metrics.jsonl text: its step and epoch records (other record types are skipped). */
export function parseMetricsLog(text: string): { steps: StepRecord[]; epochs: EpochRecord[] } {
  const steps: StepRecord[] = [];
  const epochs: EpochRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line cut off by a crash: the rest of the log still plots
    }
    if (r.type === 'step' && typeof r.step === 'number' && typeof r.loss === 'number') steps.push(r as unknown as StepRecord);
    if (r.type === 'epoch' && typeof r.step === 'number' && r.train && typeof r.train === 'object') epochs.push(r as unknown as EpochRecord);
  }
  return { steps, epochs };
}

/** Average consecutive steps into at most `max` points, so a long run stays a readable line and a small SVG. */
function downsample(steps: StepRecord[], max: number): StepRecord[] {
  if (steps.length <= max) return steps;
  const size = Math.ceil(steps.length / max);
  const out: StepRecord[] = [];
  for (let i = 0; i < steps.length; i += size) {
    const chunk = steps.slice(i, i + size);
    const mean = (get: (s: StepRecord) => number | undefined) => {
      const v = chunk.map(get).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
    };
    const terms: Record<string, number> = {};
    for (const k of Object.keys(chunk[0].terms ?? {})) {
      const m = mean((s) => s.terms?.[k]);
      if (m !== undefined) terms[k] = m;
    }
    out.push({ step: chunk[chunk.length - 1].step, loss: mean((s) => s.loss) ?? Number.NaN, terms, klWeight: mean((s) => klWeightOf(s)) });
  }
  return out;
}

function klWeightOf(s: StepRecord): number | undefined {
  if (typeof s.klWeight === 'number') return s.klWeight;
  const t = s.terms ?? {};
  return typeof t.klWeight === 'number' ? t.klWeight : typeof t.beta === 'number' ? t.beta : undefined;
}

/** The loss terms to draw, total first, in the order the model reports them. */
export function lossTerms(steps: StepRecord[], epochs: EpochRecord[]): string[] {
  // Every name any record has: a second training phase (e.g. a prior) reports terms of its own.
  const names = new Set<string>(['loss']);
  for (const s of steps) for (const k of Object.keys(s.terms ?? {})) names.add(k);
  for (const e of epochs) for (const k of Object.keys(e.train)) names.add(k);
  return [...names].filter((n) => !WEIGHT_TERMS.has(n) && !SKIPPED_TERMS.has(n));
}

/**
 * Loss curves of a run as a Vega-Lite spec: one panel per loss term (total,
 * reconstruction, KL, and any other term the model reports), each in nats per
 * example against the training step, with the per-step training values, the
 * epoch means on the training and validation sets, and the epoch ends marked;
 * under them the KL-weight schedule when the steps recorded one.
 */
export function lossCurveSpec(input: {
  steps: StepRecord[];
  epochs: EpochRecord[];
  title?: string;
  maxPoints?: number;
  /** The KL-weight schedule itself (step -> weight), drawn over every step; else the weights the logged steps recorded. */
  klWeight?: (step: number) => number;
}): TopLevelSpec {
  const phases = [...new Set(input.steps.map((s) => s.phase ?? ''))];
  const steps = phases.flatMap((ph) =>
    downsample(
      input.steps.filter((s) => Number.isFinite(s.step) && (s.phase ?? '') === ph),
      Math.max(1, Math.round((input.maxPoints ?? 600) / phases.length)),
    ).map((s) => ({ ...s, phase: ph })),
  );
  const { epochs } = input;
  const terms = lossTerms(input.steps, epochs);
  // The legend lists only the series there are (no validation entry for a run without a validation set).
  const present = SERIES.filter((_, i) => (i === 0 ? steps.length > 0 : i === 1 ? epochs.length > 0 : epochs.some((e) => e.validation)));
  const colours = { [SERIES[0]]: '#9ecae1', [SERIES[1]]: '#1f77b4', [SERIES[2]]: '#ff7f0e' };
  const dashes = { [SERIES[0]]: [1, 0], [SERIES[1]]: [1, 0], [SERIES[2]]: [5, 3] };
  const panels = terms.map((term) => {
    const values: Array<{ step: number; value: number; series: string; phase: string }> = [];
    const push = (step: number, value: number | undefined, series: string, phase: string | undefined) => {
      if (typeof value === 'number' && Number.isFinite(value)) values.push({ step, value, series, phase: phase ?? '' });
    };
    for (const s of steps) push(s.step, term === 'loss' ? s.loss : s.terms?.[term], SERIES[0], s.phase);
    // An epoch's training mean sits mid-epoch (it averages the whole epoch); validation is measured at its end.
    epochs.forEach((e, i) => {
      const start = i > 0 ? epochs[i - 1].step : 0;
      push((start + e.step) / 2, e.train[term], SERIES[1], e.phase);
      push(e.step, e.validation?.[term], SERIES[2], e.phase);
    });
    const encoding = {
      x: { field: 'step', type: 'quantitative', title: 'step (dotted lines: epoch ends)', scale: { nice: false }, axis: { format: '~s' } },
      y: { field: 'value', type: 'quantitative', title: termUnit(term).axis, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: present, range: present.map((p) => colours[p]) } },
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: present, range: present.map((p) => dashes[p]) } },
      detail: { field: 'phase', type: 'nominal' },
    };
    return {
      width: 560,
      height: 150,
      title: { text: `${termTitle(term)} (${termUnit(term).panel})`, fontSize: 12 },
      layer: [
        {
          data: { values: epochs.map((e) => ({ step: e.step, label: `epoch ${e.epoch + 1}` })) },
          mark: { type: 'rule', color: '#cccccc', strokeDash: [2, 2] },
          encoding: { x: { field: 'step', type: 'quantitative', scale: { nice: false } } },
        },
        {
          data: { values },
          transform: [{ filter: `datum.series === '${SERIES[0]}'` }],
          // Sparse logs (a short run logs every logEvery steps) get points, so a lone value still shows.
          mark: { type: 'line', strokeWidth: 1, clip: true, ...(steps.length < 40 ? { point: { size: 16, filled: true } } : {}) },
          encoding: { ...encoding },
        },
        {
          // Points only on the epoch means: the per-step line is dense.
          data: { values },
          transform: [{ filter: `datum.series !== '${SERIES[0]}'` }],
          mark: { type: 'line', point: { size: 36, filled: true }, strokeWidth: 2, clip: true },
          encoding: { ...encoding },
        },
      ],
    };
  });
  const lastStep = Math.max(0, ...steps.map((s) => s.step), ...epochs.map((e) => e.step));
  const schedule = input.klWeight;
  const sampled = schedule && lastStep > 0 ? Array.from({ length: Math.min(lastStep, input.maxPoints ?? 600) + 1 }, (_, i) => Math.round((i * lastStep) / Math.min(lastStep, input.maxPoints ?? 600))) : [];
  const weights = (schedule && sampled.length ? sampled.map((step) => ({ step, klWeight: schedule(step) })) : steps.map((s) => ({ step: s.step, klWeight: klWeightOf(s) }))).filter(
    (w): w is { step: number; klWeight: number } => typeof w.klWeight === 'number' && Number.isFinite(w.klWeight),
  );
  const weightPanel = weights.length
    ? [
        {
          width: 560,
          height: 80,
          title: { text: 'KL weight (schedule)', fontSize: 12 },
          data: { values: weights },
          mark: { type: 'line', color: '#2ca02c', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'step', scale: { nice: false }, axis: { format: '~s' } },
            y: { field: 'klWeight', type: 'quantitative', title: 'KL weight', scale: { domainMin: 0 } },
          },
        },
      ]
    : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title ?? 'Loss curves',
    vconcat: [...panels, ...weightPanel],
    resolve: { scale: { x: 'shared', color: 'shared', strokeDash: 'shared' } },
  } as TopLevelSpec;
}
