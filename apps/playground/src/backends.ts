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
 * The backends to try, in order: `asked` (if any) first, then the ones after
 * it in PLAYGROUND_BACKENDS, then the ones before it; without `asked`, all of
 * them fastest first. A backend that fails hands over to the next.
 */
export function fallbackOrder(asked?: string | null): PlaygroundBackend[] {
  if (!isPlaygroundBackend(asked)) return [...PLAYGROUND_BACKENDS];
  const i = PLAYGROUND_BACKENDS.indexOf(asked);
  return [...PLAYGROUND_BACKENDS.slice(i), ...PLAYGROUND_BACKENDS.slice(0, i)];
}

/** The backends `?failBackend=a,b` asks to break (for testing the fallback); unknown names are ignored. */
export function failingBackends(search: string): Set<PlaygroundBackend> {
  const raw = new URLSearchParams(search).get('failBackend') ?? '';
  return new Set(raw.split(',').map((s) => s.trim()).filter(isPlaygroundBackend));
}

/**
 * Make `name` fail the way a broken driver does. webgl: every shader fails to
 * compile (getShaderParameter(COMPILE_STATUS) answers false), so the backend's
 * own initialisation throws "Failed to compile vertex shader."; the others
 * throw while starting.
 */
function breakBackend(name: PlaygroundBackend): void {
  if (name !== 'webgl') throw new Error(`${name} failed to start (simulated by ?failBackend=${name})`);
  for (const ctx of [globalThis.WebGLRenderingContext, globalThis.WebGL2RenderingContext]) {
    if (!ctx) continue;
    const original = ctx.prototype.getShaderParameter;
    ctx.prototype.getShaderParameter = function (this: WebGLRenderingContext, shader: WebGLShader, pname: GLenum) {
      return pname === this.COMPILE_STATUS ? false : original.call(this, shader, pname);
    } as typeof original;
  }
}

/**
 * Load, initialise and activate `name`, then check it with a matmul + gradient smoke test.
 * `fail` breaks the backend first (see breakBackend), to exercise the fallback.
 */
export async function switchBackend(name: PlaygroundBackend, options: { fail?: boolean } = {}): Promise<BackendChoice> {
  if (!isPlaygroundBackend(name)) throw new Error(`switchBackend: backend must be one of ${PLAYGROUND_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error("switchBackend: this browser has no WebGPU (navigator.gpu is missing); pick 'webgl', 'wasm' or 'cpu'");
  if (options.fail) breakBackend(name);
  await loaders[name]();
  // useBackend's smoke test reads back asynchronously, so it also checks webgpu in a page.
  return useBackend(name, { smokeTest: true });
}
