import type { MnistClassifier } from './mnist-classifier';
import { type ClassifierModelJson, decodeMnistClassifier } from './classifier-io';

/** Where the committed weights live, relative to the package root. */
export const MNIST_CLASSIFIER_WEIGHTS_DIR = 'weights/mnist-classifier';

/**
 * Load the MNIST classifier shipped with @elbo/metrics (Node only: reads
 * `weights/mnist-classifier/model.json` and `weights.bin` from the installed
 * package, or from `dir` when given). It is the default feature extractor of
 * "FID (MNIST classifier)" and the Inception Score for MNIST-like data; its test
 * accuracy is in model.json's `userDefinedMetadata.testAccuracy`.
 * In a browser, fetch the two files and call `decodeMnistClassifier`.
 * The caller owns the model: `dispose()` it when done.
 */
export async function mnistClassifier(dir?: string): Promise<MnistClassifier> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const url = await import('node:url');
  let root = dir;
  if (root === undefined) {
    // Walk up from this module (src/features/ in development, dist/ when installed) to the package root.
    let cur = path.dirname(url.fileURLToPath(import.meta.url));
    for (let i = 0; i < 5 && root === undefined; i++) {
      const candidate = path.join(cur, MNIST_CLASSIFIER_WEIGHTS_DIR);
      try {
        await fs.access(path.join(candidate, 'model.json'));
        root = candidate;
      } catch {
        cur = path.dirname(cur);
      }
    }
    if (root === undefined) throw new Error(`mnistClassifier: ${MNIST_CLASSIFIER_WEIGHTS_DIR}/model.json not found above ${url.fileURLToPath(import.meta.url)}`);
  }
  const modelJson = JSON.parse(await fs.readFile(path.join(root, 'model.json'), 'utf8')) as ClassifierModelJson;
  const paths = modelJson.weightsManifest.flatMap((g) => g.paths);
  const parts = await Promise.all(paths.map((p) => fs.readFile(path.join(root as string, p))));
  const bytes = new Uint8Array(parts.reduce((s, b) => s + b.byteLength, 0));
  let o = 0;
  for (const b of parts) {
    bytes.set(b, o);
    o += b.byteLength;
  }
  return decodeMnistClassifier(modelJson, bytes.buffer);
}
