import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../tfjs-setup';
import { Bernoulli } from '../distributions/bernoulli';
import { bernoulliNll } from './bernoulli-nll';
import { negLogLikelihood } from './elbo';

describe('bernoulliNll', () => {
  it('equals -Bernoulli.logProbElementwise (values and logits gradient) where no backend kernel is registered, NaN kept', () => {
    const before = tf.memory().numTensors;
    const l = tf.tensor2d([[-40, -2, 0.5, Number.NaN], [0, 3, 80, -0.1]]);
    const x = tf.tensor2d([[0, 0.2, 1, 0.5], [0.5, 1, 0, 0.7]]);
    const ref = tf.tidy(() => tf.neg(new Bernoulli(l).logProbElementwise(x)));
    const got = bernoulliNll(l, x);
    const viaObjective = negLogLikelihood(new Bernoulli(l), x);
    expect(Array.from(got.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(Array.from(viaObjective.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(Number.isNaN(got.dataSync()[3])).toBe(true);
    const g = tf.grad((a: tf.Tensor) => tf.sum(bernoulliNll(a, x)))(l);
    const gRef = tf.grad((a: tf.Tensor) => tf.sum(tf.neg(new Bernoulli(a).logProbElementwise(x))))(l);
    expect(Array.from(g.dataSync())).toEqual(Array.from(gRef.dataSync()));
    tf.dispose([l, x, ref, got, viaObjective, g, gRef]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
