import * as tf from '@tensorflow/tfjs-core';
import { type BackendChoice, useBackend } from '@elbo/core';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Backends the playground offers, fastest first (the order `useBackend('auto')` tries in a browser). */
export const PLAYGROUND_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type PlaygroundBackend = (typeof PLAYGROUND_BACKENDS)[number];

/**
 * useBackend imports optional backend packages by a computed specifier so
 * bundlers leave them alone; in a bundled app that import cannot resolve, so
 * the app imports each package itself with a literal specifier (vite splits
 * each into a chunk loaded only when picked) and then hands over to useBackend.
 */
const loaders: Record<PlaygroundBackend, () => Promise<unknown>> = {
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  wasm: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries are emitted as hashed assets of this app, never fetched from a CDN.
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    });
  },
  cpu: async () => undefined, // @elbo/core registers cpu
};

export function isPlaygroundBackend(name: unknown): name is PlaygroundBackend {
  return typeof name === 'string' && (PLAYGROUND_BACKENDS as readonly string[]).includes(name);
}

/**
 * A matmul and its gradient, read back asynchronously and checked against
 * hand-computed values. useBackend's own smoke test reads with dataSync(),
 * which on tfjs-backend-webgpu in Chromium (SwiftShader) returns zeros: the
 * browser path has to read asynchronously.
 */
export async function asyncSmokeTest(): Promise<void> {
  const [y, g] = tf.tidy(() => {
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor2d([[5, 6], [7, 8]]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, b)))(a);
    return [tf.matMul(a, b), grad];
  });
  try {
    const [yv, gv] = await Promise.all([y.data(), g.data()]);
    const expectY = [19, 22, 43, 50]; // [[1,2],[3,4]] x [[5,6],[7,8]]
    const expectG = [11, 15, 11, 15]; // d sum(AB) / dA = 1 B^T: row sums of B
    for (let i = 0; i < 4; i++) {
      if (Math.abs(yv[i] - expectY[i]) > 1e-3 || Math.abs(gv[i] - expectG[i]) > 1e-3) {
        throw new Error(`smoke test computed [${[...yv]}] / [${[...gv]}], expected [${expectY}] / [${expectG}]`);
      }
    }
  } finally {
    tf.dispose([y, g]);
  }
}

/** Load, initialise and activate `name`, then check it with a matmul + gradient smoke test. */
export async function switchBackend(name: PlaygroundBackend): Promise<BackendChoice> {
  if (!isPlaygroundBackend(name)) throw new Error(`switchBackend: backend must be one of ${PLAYGROUND_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error("switchBackend: this browser has no WebGPU (navigator.gpu is missing); pick 'webgl', 'wasm' or 'cpu'");
  await loaders[name]();
  const choice = await useBackend(name, { smokeTest: false });
  await asyncSmokeTest();
  return choice;
}
