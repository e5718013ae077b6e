import * as tf from '@tensorflow/tfjs-core';
import { type BatchSource, formatDuration, ProgressBar, type ProgressStream, renderBar } from '@elbo/core';

// Progress of the bench's long work (importance-sampled NLL, FID, suites), drawn with core's ProgressBar, the one
// the trainer uses: a bar with rate and ETA on a terminal, plain lines otherwise, nothing with --no-progress.

let enabled = true;
let stream: ProgressStream | undefined;

/** --no-progress turns every bar off; `to` redirects them (tests). */
export function setProgress(on: boolean, to?: ProgressStream): void {
  enabled = on;
  stream = to;
}

/** A bar for `total` units of work, or a silent one under --no-progress. */
export function progressBar(label: string, total: number, unit: string): ProgressBar {
  return new ProgressBar(label, total, { unit, enabled, stream });
}

/**
 * The same batches, ticking a bar as each is taken (the previous one is then
 * done): progress for a metric that loops over a BatchSource, with the same
 * results as without.
 */
export function batchesWithProgress(source: BatchSource, bar: ProgressBar): BatchSource {
  return {
    size: source.size,
    batchSize: source.batchSize,
    *batches(epoch: number) {
      let done = 0;
      for (const batch of source.batches(epoch)) {
        bar.update(done);
        yield batch;
        done += batch.x.shape[0];
      }
      bar.update(done);
    },
  };
}

/** A sampler `(n) => images` that ticks a bar with the samples drawn (FID's generated side). */
export function samplerWithProgress(sample: (n: number) => tf.Tensor, bar: ProgressBar): (n: number) => tf.Tensor {
  let done = 0;
  return (n) => {
    const t = sample(n);
    done += n;
    bar.update(done);
    return t;
  };
}

/**
 * A suite's progress as one line per row, printed before the row starts (the
 * row's training draws its own bars): `suite arch [=====>    ] row 2/4 conv  3m05s elapsed  eta 6m10s`.
 */
export function suiteProgress(suite: string, total: number): (index: number, label: string) => string {
  const start = Date.now();
  return (index, label) => {
    const secs = (Date.now() - start) / 1000;
    const eta = index > 0 ? (secs / index) * (total - index) : Number.NaN;
    return `suite ${suite} ${renderBar(index / total, 20)} row ${index + 1}/${total} ${label}  ${formatDuration(secs)} elapsed  eta ${index > 0 ? formatDuration(eta) : '?'}`;
  };
}

/** Examples x (a tensor) or a BatchSource, as batches that tick a bar: what importanceSampledNll and activeUnits take. */
export function withProgress(data: tf.Tensor | BatchSource, bar: ProgressBar, batchSize: number): BatchSource {
  if (!('shape' in data)) return batchesWithProgress(data, bar);
  const x = data;
  const n = x.shape[0];
  return batchesWithProgress(
    {
      size: n,
      batchSize,
      *batches() {
        for (let s = 0; s < n; s += batchSize) yield { x: tf.slice(x, s, Math.min(batchSize, n - s)) };
      },
    },
    bar,
  );
}
