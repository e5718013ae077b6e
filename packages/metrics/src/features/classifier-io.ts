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
export async function encodeMnistClassifier(
  model: MnistClassifier,
  metadata: Record<string, unknown> = {},
): Promise<{ modelJson: ClassifierModelJson; weightData: ArrayBuffer }> {
  const named = [...model.namedVariables()].map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const modelJson: ClassifierModelJson = {
    format: 'elbo-mnist-classifier',
    modelTopology: model.config,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    userDefinedMetadata: metadata,
  };
  return { modelJson, weightData: data as ArrayBuffer };
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
  model.metadata = { ...(modelJson.userDefinedMetadata ?? {}) };
  return model.eval();
}
