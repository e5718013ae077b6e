import * as tf from '@tensorflow/tfjs-core';
import { loadPretrained } from '@elbo/zoo';

export interface ZooTiming {
  name: string;
  backend: string;
  /** Fetch, checksum, float16 -> float32 and build (ms). */
  loadMs: number;
  /** First sample(count) read back: includes shader compilation / kernel warm-up (ms). */
  firstSampleMs: number;
  /** Median of three more sample(count) calls, read back (ms). */
  sampleMs: number;
}

/**
 * Time loading each pretrained model from `baseUrl` and sampling a grid of
 * `count` from it on the active backend (scripts/bench-zoo.mjs drives this;
 * it is a measurement, not a test). Each model is loaded afresh and disposed.
 */
export async function benchZoo(baseUrl: string, names: string[], count = 16): Promise<ZooTiming[]> {
  const out: ZooTiming[] = [];
  for (const name of names) {
    const t = performance.now();
    const model = await loadPretrained(name, { baseUrl });
    const loadMs = performance.now() - t;
    const sampleOnce = async () => {
      const start = performance.now();
      const x = tf.tidy(() => model.sample(count));
      await x.data();
      x.dispose();
      return performance.now() - start;
    };
    try {
      const firstSampleMs = await sampleOnce();
      const warm = [await sampleOnce(), await sampleOnce(), await sampleOnce()].sort((a, b) => a - b);
      out.push({ name, backend: tf.getBackend(), loadMs, firstSampleMs, sampleMs: warm[1] });
    } finally {
      model.dispose();
    }
  }
  return out;
}
