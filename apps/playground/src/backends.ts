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

/** Load, initialise and activate `name`, then check it with a matmul + gradient smoke test. */
export async function switchBackend(name: PlaygroundBackend): Promise<BackendChoice> {
  if (!isPlaygroundBackend(name)) throw new Error(`switchBackend: backend must be one of ${PLAYGROUND_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error("switchBackend: this browser has no WebGPU (navigator.gpu is missing); pick 'webgl', 'wasm' or 'cpu'");
  await loaders[name]();
  // useBackend's smoke test reads back asynchronously, so it also checks webgpu in a page.
  return useBackend(name, { smokeTest: true });
}
