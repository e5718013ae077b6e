/**
 * The measurements on a zoo model's card, shared by the builder and the tests that re-measure
 * them: the estimators of @elbo/metrics (importance-sampled NLL, FID with the MNIST classifier,
 * MIG and SAP) and each variant's own bench metrics (cvae's conditional accuracy, vqvae's codebook
 * and prior NLL, hvae's per-level KL, active units and NLL) through the hooks it registered.
 * Node only (it reads MNIST and the classifier from disk).
 */
import {
  type BatchSource,
  type BenchContext,
  type BenchData,
  type GenerativeModel,
  getVariant,
  Rng,
  withModelDraws,
} from '@elbo/core';
import { createBatchSource, DSprites, type ImageDataset, loadMnist, takeSubset } from '@elbo/datasets';
import { activeUnits, fid, importanceSampledNll, type MnistClassifier, migOfModel, mnistClassifier, modelSamples, sapOfModel } from '@elbo/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { DataSpec, EvaluationSpec } from './card';

let classifier: Promise<MnistClassifier> | undefined;
/** The MNIST classifier, loaded once per process (its weights stay allocated). */
export function sharedClassifier(): Promise<MnistClassifier> {
  if (!classifier) classifier = mnistClassifier();
  return classifier;
}

/** The test examples a card's metrics use: the first `count` of MNIST's test split, or seeded dSprites draws. */
export function evaluationData(data: DataSpec, count: number, seed: number): ImageDataset & { factors?: Uint8Array | Int32Array | Float32Array } {
  if (data.dataset === 'dsprites') return new DSprites().sample(count, new Rng(seed).fork('zoo-dsprites-test'));
  const test = loadMnist({ split: 'test' });
  const n = Math.min(count, test.count);
  const images = test.images.slice(0, n * 784);
  if (data.binarize === 'dynamic') {
    // Binarised once with a seeded draw, the protocol of dynamically binarised MNIST (Burda et al. 2016).
    const rng = new Rng(seed).fork('zoo-binarize');
    for (let i = 0; i < images.length; i++) images[i] = rng.next() < images[i] ? 1 : 0;
  }
  return { images, labels: test.labels?.slice(0, n), count: n, shape: test.shape, numClasses: 10 };
}

/** A BenchData over the evaluation examples, for the variants' bench hooks. */
function benchData(ds: ImageDataset, inputShape: number[], oneHot: boolean): BenchData {
  const shape = inputShape.length === 1 ? 'flat' : 'image';
  const source = (batchSize: number, limit?: number): BatchSource =>
    createBatchSource(limit !== undefined && limit < ds.count ? takeSubset(ds, limit) : ds, { batchSize, shuffle: false, shape, oneHot });
  return {
    inputShape,
    imageShape: ds.shape as [number, number, number],
    numClasses: ds.numClasses ?? 0,
    trainCount: 0,
    testCount: ds.count,
    train: () => {
      throw new Error('zoo evaluation has no training split');
    },
    test: (o = {}) => source(o.batchSize ?? 250, o.limit),
    testImages: (limit = ds.count) => {
      const n = Math.min(limit, ds.count);
      const per = inputShape.reduce((a, b) => a * b, 1);
      return tf.tensor(ds.images.subarray(0, n * per), [n, ...inputShape]);
    },
    testLabels: (limit = ds.count) => Int32Array.from((ds.labels ?? []).slice(0, Math.min(limit, ds.count))),
  };
}



/**
 * The card's metrics of a model, measured on `spec.testImages` test examples:
 * - `testNegElbo`: mean -ELBO (nats per example) where the loss reports an `elbo` term;
 * - `nll`: importance-sampled -log p(x) with k = `spec.nllSamples` (single-latent Gaussian models);
 * - `fid`: FID of `spec.fidSamples` samples against the test images with the MNIST classifier (MNIST models);
 * - `mig`, `sap`: for dSprites models (colour, the constant factor, left out);
 * - the variant's own bench metrics, by the names it gives them.
 * The model is put in eval mode. FID and the variant's metrics draw with the model's generator set
 * to streams forked from `spec.seed` (and put back after), so each gives the same numbers whichever
 * metrics ran before it and whatever state the generator was loaded with.
 */
export async function measureCard(model: GenerativeModel, data: DataSpec, spec: EvaluationSpec, log: (line: string) => void = () => {}): Promise<Record<string, number>> {
  model.eval();
  const entry = getVariant(model.variant);
  const hooks = entry?.bench ?? {};
  const oneHot = hooks.conditions === 'labels';
  const ds = evaluationData(data, spec.testImages, spec.seed);
  const inputShape = (model.config.inputShape as number[] | undefined) ?? [ds.shape.reduce((a, b) => a * b, 1)];
  const bd = benchData(ds, inputShape, oneHot);
  const metrics: Record<string, number> = {};

  // Test -ELBO, batch by batch, as the bench's testTerms.
  let elboSum = 0;
  let n = 0;
  let hasElbo = false;
  for (const batch of bd.test({ batchSize: 250 }).batches(0)) {
    const v = tf.tidy(() => {
      const { terms } = model.loss(batch, { step: Number.MAX_SAFE_INTEGER });
      return terms.elbo ? terms.elbo.dataSync()[0] : undefined;
    });
    tf.dispose(Object.values(batch).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
    if (v === undefined) continue;
    hasElbo = true;
    elboSum += -v * batch.x.shape[0];
    n += batch.x.shape[0];
  }
  if (hasElbo) metrics.testNegElbo = elboSum / n;

  if (spec.nllSamples > 0 && model.prior !== undefined) {
    const source = bd.test({ batchSize: 50 });
    metrics.nll = importanceSampledNll(model, source, { samples: spec.nllSamples, batchSize: 50, seed: spec.seed }).nll;
  }

  if (data.dataset === 'mnist' && spec.fidSamples > 0) {
    const extractor = await sharedClassifier();
    const real = bd.testImages();
    const realImages = tf.reshape(real, [real.shape[0], 28, 28, 1]);
    const generated = modelSamples(model, spec.fidSamples, 250, (k) => tf.tidy(() => tf.reshape(model.sample(k), [k, 28, 28, 1])));
    metrics.fid = withModelDraws(model, new Rng(spec.seed).fork('fid'), () => fid(realImages, generated, { extractor }));
    tf.dispose([real, realImages]);
  }

  if (data.dataset === 'dsprites' && 'factors' in ds && ds.factors) {
    // MIG on the first half, SAP trained on the first half and scored on the second (as the bench's beta suite).
    const half = Math.floor(ds.count / 2);
    const f = ds.factors;
    const factorsOf = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => Array.from(f.subarray((from + i) * 6 + 1, (from + i) * 6 + 6)));
    const per = 4096;
    const x = tf.tensor2d(ds.images.subarray(0, half * per), [half, per]);
    const xt = tf.tensor2d(ds.images.subarray(half * per, ds.count * per), [ds.count - half, per]);
    try {
      metrics.mig = migOfModel(model, x, factorsOf(0, half)).mig;
      metrics.sap = sapOfModel(model, x, factorsOf(0, half), xt, factorsOf(half, ds.count)).sap;
    } finally {
      tf.dispose([x, xt]);
    }
  }

  if (hooks.metrics) {
    const ctx: BenchContext = {
      data: bd,
      seed: spec.seed,
      epochs: 0,
      log,
      writeGrid: () => '',
      metrics: {
        importanceSampledNll: (m, d, o) => importanceSampledNll(m, d, o),
        activeUnits: (m, d) => activeUnits(m, d).count,
        classifier: sharedClassifier,
      },
    };
    const extra = await withModelDraws(model, new Rng(spec.seed).fork('variant-metrics'), () => hooks.metrics!(model, ctx));
    for (const [k, v] of Object.entries(extra)) if (Number.isFinite(v)) metrics[k] = v;
  }
  return metrics;
}

/** Largest relative difference between two metric records over their shared names (0 when none). */
export function largestRelativeDifference(a: Record<string, number>, b: Record<string, number>): { name: string; relative: number } {
  let worst = { name: '', relative: 0 };
  for (const k of Object.keys(a)) {
    if (!(k in b)) continue;
    const d = Math.abs(a[k] - b[k]) / Math.max(Math.abs(a[k]), Math.abs(b[k]), 1e-3);
    if (d > worst.relative) worst = { name: k, relative: d };
  }
  return worst;
}


