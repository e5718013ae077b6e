import * as tf from '@tensorflow/tfjs-core';
import '@elbo/core';
import { describe, expect, it } from 'vitest';
import { codesAndFactors, parkMiller } from '../test-helpers';
import { fitLinearSvm1d, predictLinearSvm1d } from './linear-svm-1d';
import { mig } from './mig';
import { discreteEntropy, histogramDiscretize, mutualInfoScore } from './mutual-information';
import { sap } from './sap';

describe('mutual information and discretisation', () => {
  it('mutualInfoScore and the entropy match hand cases', () => {
    const a = Float64Array.from([0, 0, 1, 1]);
    expect(mutualInfoScore(a, a)).toBeCloseTo(Math.log(2), 12);
    expect(discreteEntropy(a)).toBeCloseTo(Math.log(2), 12);
    expect(mutualInfoScore(a, Float64Array.from([0, 1, 0, 1]))).toBeCloseTo(0, 12);
    expect(mutualInfoScore(a, Float64Array.from([5, 5, 5, 5]))).toBe(0);
  });

  it('histogramDiscretize gives numpy digitize-of-histogram-edges labels 1..20', () => {
    expect(Array.from(histogramDiscretize(Float64Array.from([0, 1, 2, 19, 20]), 20))).toEqual([1, 2, 3, 20, 20]);
    // A constant column: numpy's range (v - 0.5, v + 0.5).
    expect(Array.from(histogramDiscretize(Float64Array.from([3, 3]), 20))).toEqual([11, 11]);
    // Reference: code 1 of reference.py's data, first 10 points.
    const { codes } = codesAndFactors(11, 1000);
    const d = histogramDiscretize(Float64Array.from(codes, (r) => r[1]), 20);
    expect(Array.from(d.subarray(0, 10))).toEqual([4, 13, 7, 9, 14, 12, 12, 8, 9, 5]);
  });
});

describe('mig', () => {
  it('is near 1 for a factorised code and near 0 for an entangled one', () => {
    const n = 2000;
    const u = parkMiller(41, 2 * n);
    const factors = Array.from({ length: n }, (_, i) => [Math.floor(u[2 * i] * 4), Math.floor(u[2 * i + 1] * 4)]);
    // Each code dimension is exactly one factor (plus a constant offset).
    const factorised = factors.map(([a, b]) => [a + 0.5, b - 1]);
    // Not exactly 1: the empirical MI between a code and the *other* (independent) factor is slightly positive on finite data.
    const r = mig(factorised, factors);
    expect(r.mig).toBeGreaterThan(0.99);
    expect(r.mutualInformation[0][0]).toBeCloseTo(r.factorEntropy[0], 10);
    // Both code dimensions carry the same mix of both factors: no gap.
    const entangled = factors.map(([a, b]) => [a + 4 * b, a + 4 * b]);
    expect(mig(entangled, factors).mig).toBeLessThan(0.01);
  });

  it("matches disentanglement_lib's MIG (reference.py: 0.5056775324490632)", () => {
    const { codes, factors } = codesAndFactors(11, 1000);
    const r = mig(codes, factors);
    expect(r.mig).toBeCloseTo(0.5056775324490632, 10);
    expect(r.mutualInformation[1][0]).toBeCloseTo(0.40315126260397494, 10);
    expect(r.factorEntropy[1]).toBeCloseTo(1.098119453353906, 10);
    const t = tf.tensor2d(codes);
    expect(mig(t, factors).mig).toBeCloseTo(0.5056775324490632, 5); // float32 codes
    t.dispose();
  });

  it('names bad input', () => {
    expect(() => mig([[1, 2]], [[1], [2]])).toThrow(/same number of rows/);
    expect(() => mig([[1, 2], [2, 3]], [[1], [1]])).toThrow(/factor 0 is constant/);
  });
});

describe('linear SVM (LinearSVC, squared hinge, C = 0.01, balanced)', () => {
  it("reaches scikit-learn's solution (reference.py)", () => {
    const { codes, factors } = codesAndFactors(21, 600);
    const x = Float64Array.from(codes, (r) => r[0]);
    const multi = fitLinearSvm1d(x, Float64Array.from(factors, (r) => r[0]), { C: 0.01 });
    // sklearn 1.2.1 (liblinear, tol 1e-4): its solver stops early, ours converges; agree to ~1e-3.
    const coef = [-0.9314946324523927, -0.20191932330096132, -0.04528558931249218, 0.13181537105099317, 0.3033639787749431];
    const intercept = [0.39179032497602573, -0.18279902466606235, -0.4781628639129476, -0.7831888821410155, -1.156967969754916];
    coef.forEach((c, i) => expect(Math.abs(multi.weights[i] - c)).toBeLessThan(2e-3));
    intercept.forEach((c, i) => expect(Math.abs(multi.biases[i] - c)).toBeLessThan(2e-3));
    const bin = fitLinearSvm1d(Float64Array.from(codes, (r) => r[1]), Float64Array.from(factors, (r) => (r[1] > 0 ? 1 : 0)), { C: 0.01 });
    expect(Math.abs(bin.weights[0] - 0.657199181950465)).toBeLessThan(2e-3);
    expect(Math.abs(bin.biases[0] - -0.6043521614436904)).toBeLessThan(2e-3);
    expect(Array.from(predictLinearSvm1d(bin, Float64Array.from([-5, 5])))).toEqual([0, 1]);
  });
});

describe('sap', () => {
  it("matches disentanglement_lib's SAP score matrix (reference.py: 0.20166666666666666)", () => {
    const train = codesAndFactors(21, 600);
    const test = codesAndFactors(31, 300);
    const r = sap(train.codes, train.factors, test.codes, test.factors);
    const ref = [[0.5733333333333334, 0.38333333333333336], [0.36666666666666664, 0.58], [0.19333333333333333, 0.35333333333333333]];
    // Accuracies are multiples of 1/300; a test point lying within sklearn's early-stopping tolerance of the
    // boundary could flip, so allow one point per entry.
    r.scores.forEach((row, i) => row.forEach((s, j) => expect(Math.abs(s - ref[i][j])).toBeLessThanOrEqual(1 / 300 + 1e-12)));
    expect(Math.abs(r.sap - 0.20166666666666666)).toBeLessThanOrEqual(1 / 300 + 1e-12);
  });

  it('is high for a factorised code and near 0 for an entangled one', () => {
    const n = 600;
    const u = parkMiller(51, 2 * n);
    const factors = Array.from({ length: n }, (_, i) => [Math.floor(u[2 * i] * 2), Math.floor(u[2 * i + 1] * 2)]);
    const half = n / 2;
    const fact = factors.map(([a, b]) => [a, b]);
    const r = sap(fact.slice(0, half), factors.slice(0, half), fact.slice(half), factors.slice(half));
    expect(r.sap).toBeGreaterThan(0.4);
    const ent = factors.map(([a, b]) => [a + 2 * b, a + 2 * b]);
    expect(sap(ent.slice(0, half), factors.slice(0, half), ent.slice(half), factors.slice(half)).sap).toBeCloseTo(0, 10);
  });
});
