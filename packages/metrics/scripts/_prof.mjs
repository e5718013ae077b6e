import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { MnistClassifier } from '../dist/index.js';
const m = new MnistClassifier(undefined, new Rng(1));
const x = tf.randomUniform([128, 28, 28, 1]); const y = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32'), 10);
const prof = await tf.profile(() => { const g = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, m.logits(x)), m.parameters()); return g.value; });
const agg = {};
for (const k of prof.kernels) { agg[k.name] = (agg[k.name] ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0); }
console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,12));
