import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@elbo/core';
import { type MnistClassifierConfig, MnistClassifier } from './mnist-classifier';

/** model.json of a saved classifier: the standard tfjs weights-manifest layout. */
export interface ClassifierModelJson {
  format: 'elbo-mnist-classifier';
  modelTopology: MnistClassifierConfig;
  weightsManifest: tf.io.WeightsManifestConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * Serialise a classifier to model.json + one weights.bin (tfjs weights-manifest format).
 * @returns the JSON object and the binary weight data (write it to `weights.bin`)
 */
export function encodeMnistClassifier(
  model: MnistClassifier,
  metadata: Record<string, unknown> = {},
): { modelJson: ClassifierModelJson; weightData: Promise<ArrayBuffer> } {
  const named = [...model.namedVariables()].map(([name, tensor]) => ({ name, tensor }));
  const encoded = tf.io.encodeWeights(named);
  const specs = encoded.then((e) => e.specs);
  // encodeWeights is async only by signature; resolve the specs before building the manifest.
  const modelJson: ClassifierModelJson = {
    format: 'elbo-mnist-classifier',
    modelTopology: model.config,
    weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
    userDefinedMetadata: metadata,
  };
  const weightData = specs.then(async (s) => {
    modelJson.weightsManifest[0].weights = s;
    const e = await encoded;
    return e.data as ArrayBuffer;
  });
  return { modelJson, weightData };
}

/**
 * Rebuild a classifier from model.json and the bytes of its weights file.
 * Throws naming the variable when a weight is missing or has the wrong shape.
 */
export function decodeMnistClassifier(modelJson: ClassifierModelJson, weightData: ArrayBuffer): MnistClassifier {
  if (modelJson?.format !== 'elbo-mnist-classifier') {
    throw new Error(`decodeMnistClassifier: model.json "format" must be "elbo-mnist-classifier", got ${JSON.stringify(modelJson?.format)}`);
  }
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const tensors = tf.io.decodeWeights(weightData, specs);
  const model = new MnistClassifier(modelJson.modelTopology, new Rng(0));
  try {
    for (const [name, v] of model.namedVariables()) {
      const t = tensors[name];
      if (!t) throw new Error(`decodeMnistClassifier: weight "${name}" is missing from the manifest`);
      if (t.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`decodeMnistClassifier: weight "${name}" has shape [${t.shape}], expected [${v.shape}]`);
      }
      v.assign(t);
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return model.eval();
}
