import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { NATIVE_BACKEND_NAME } from './backend';
import { loadAddon } from './native-addon';

/** tfjs-core's NamedTensor (not re-exported from its index). */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  m: Float32Array;
  v: Float32Array;
}

/**
 * Adam with one fused native pass per variable (tfjs's AdamOptimizer runs
 * ~10 tensor ops per variable, each allocating an array: on 'native' that was
 * the largest cost of an MLP VAE step after the GEMMs were native).
 *
 * Same update as tf.train.adam (bias-corrected moments; epsilon added to the
 * corrected sqrt(v)). Moments live in plain Float32Arrays updated in place;
 * the new weights go to a fresh array assigned to the variable, so an array a
 * caller got from `variable.dataSync()` is never overwritten. On other
 * backends, or without the addon, the same update runs in JavaScript.
 *
 * @example
 * const opt = new NativeAdamOptimizer(1e-3);
 * opt.minimize(() => loss(), false, variables);
 */
export class NativeAdamOptimizer extends tf.Optimizer {
  static get className(): string {
    return 'NativeAdam';
  }

  private readonly slots = new Map<string, Slot>();
  private step = 0;

  constructor(
    readonly learningRate = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    super();
    if (!(learningRate > 0)) throw new Error(`NativeAdamOptimizer: learningRate must be > 0, got ${learningRate}`);
    for (const [k, v] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new Error(`NativeAdamOptimizer: ${k} must be in [0, 1), got ${v}`);
    }
    if (!(epsilon > 0)) throw new Error(`NativeAdamOptimizer: epsilon must be > 0, got ${epsilon}`);
  }

  override applyGradients(variableGradients: Record<string, tf.Tensor> | { name: string; tensor: tf.Tensor }[]): void {
    const pairs = Array.isArray(variableGradients)
      ? variableGradients.map((p) => [p.name, p.tensor] as const)
      : Object.entries(variableGradients);
    this.step++;
    const c2 = Math.sqrt(1 - this.beta2 ** this.step);
    const lrT = (this.learningRate * c2) / (1 - this.beta1 ** this.step);
    const epsT = this.epsilon * c2;
    const addon = loadAddon();
    const onNative = addon !== null && tf.getBackend() === NATIVE_BACKEND_NAME;
    const backend = onNative ? (tf.backend() as MathBackendCPU) : null;
    for (const [name, grad] of pairs) {
      if (grad == null) continue;
      const variable = tf.engine().registeredVariables[name];
      if (!variable) throw new Error(`NativeAdamOptimizer: no variable named '${name}'`);
      if (variable.dtype !== 'float32' || grad.dtype !== 'float32') {
        throw new Error(`NativeAdamOptimizer: '${name}' must be float32, got ${variable.dtype} / gradient ${grad.dtype}`);
      }
      const n = variable.size;
      let slot = this.slots.get(name);
      if (!slot) {
        slot = { m: new Float32Array(n), v: new Float32Array(n) };
        this.slots.set(name, slot);
      }
      const read = (t: tf.Tensor): Float32Array => {
        const v = backend ? backend.data.get(t.dataId).values : null;
        return v instanceof Float32Array ? v : (t.dataSync() as Float32Array);
      };
      const w = read(variable);
      const g = read(grad);
      // On 'native' the new weights come from the backend's recycler: the array the variable held
      // until now goes back to it when assign() releases it (unless someone read it, see NativeBackend).
      const alloc = (backend as { allocFloat32?: (len: number) => Float32Array } | null)?.allocFloat32;
      const out = alloc ? alloc.call(backend, n) : new Float32Array(n);
      if (onNative && addon) {
        addon.adam(w, slot.m, slot.v, g, out, slot.m, slot.v, this.beta1, this.beta2, lrT, epsT);
      } else {
        const { m, v } = slot;
        for (let i = 0; i < n; i++) {
          m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
          v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
          out[i] = w[i] - (lrT * m[i]) / (Math.sqrt(v[i]) + epsT);
        }
      }
      const next = tf.tensor(out, variable.shape, 'float32');
      variable.assign(next);
      next.dispose();
    }
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(this.step, 'int32') }];
    for (const [name, s] of this.slots) {
      const shape = tf.engine().registeredVariables[name]?.shape ?? [s.m.length];
      out.push({ name: `${name}/m`, tensor: tf.tensor(s.m.slice(), shape) });
      out.push({ name: `${name}/v`, tensor: tf.tensor(s.v.slice(), shape) });
    }
    return out;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.slots.clear();
    for (const { name, tensor } of weightValues) {
      if (name === 'iter') {
        this.step = (await tensor.data())[0];
        continue;
      }
      const base = name.replace(/\/(m|v)$/, '');
      const slot = this.slots.get(base) ?? { m: new Float32Array(tensor.size), v: new Float32Array(tensor.size) };
      slot[name.endsWith('/m') ? 'm' : 'v'] = Float32Array.from(await tensor.data());
      this.slots.set(base, slot);
    }
  }

  override dispose(): void {
    this.slots.clear();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

export interface FusedAdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based step count t of this update (for the bias corrections). */
  step: number;
  /** A scalar bool tensor of the 'native' backend (core's NaN guard): when false the update changes nothing. */
  gate?: tf.Tensor;
}

/**
 * One Adam step on `param` with moment variables `m` and `v` (same shape,
 * float32) in a single native pass, for optimizers that keep their own state
 * (e.g. @elbo/core's Adam). The same update as tf.train.adam. New arrays are
 * assigned to all three variables (none is written in place), so readers of
 * earlier values are safe. Returns false, changing nothing, when the active
 * backend is not 'native' or the addon is unavailable: the caller then runs
 * its own tensor ops.
 * @param param [...shape] updated
 * @param m [...shape] first moment, updated
 * @param v [...shape] second moment, updated
 * @param grad [...shape]
 */
export function fusedAdamUpdate(param: tf.Variable, m: tf.Variable, v: tf.Variable, grad: tf.Tensor, options: FusedAdamOptions): boolean {
  const addon = loadAddon();
  if (!addon || tf.getBackend() !== NATIVE_BACKEND_NAME) return false;
  const { learningRate, beta1, beta2, epsilon, step } = options;
  if (!(step >= 1) || !Number.isInteger(step)) throw new Error(`fusedAdamUpdate: step must be a positive integer, got ${step}`);
  for (const [name, t] of [['m', m], ['v', v], ['grad', grad]] as const) {
    if (t.size !== param.size) throw new Error(`fusedAdamUpdate: ${name} has ${t.size} elements, param has ${param.size}`);
  }
  const backend = tf.backend() as MathBackendCPU & { allocFloat32?: (n: number) => Float32Array };
  const read = (t: tf.Tensor): Float32Array | null => {
    if (t.dtype !== 'float32') return null;
    const values = backend.data.get(t.dataId).values;
    return values instanceof Float32Array ? values : null;
  };
  const [pw, pm, pv, pg] = [read(param), read(m), read(v), read(grad)];
  if (!pw || !pm || !pv || !pg) return false;
  if (options.gate !== undefined) {
    // The NaN guard's gate lives in this backend's memory: when it is false, the step changes nothing.
    const g = backend.data.get(options.gate.dataId)?.values as ArrayLike<number> | undefined;
    if (!g || g.length !== 1) return false;
    if (!g[0]) return true;
  }
  const n = param.size;
  const alloc = (): Float32Array => (backend.allocFloat32 ? backend.allocFloat32(n) : new Float32Array(n));
  const [wOut, mOut, vOut] = [alloc(), alloc(), alloc()];
  const c2 = Math.sqrt(1 - beta2 ** step);
  addon.adam(pw, pm, pv, pg, wOut, mOut, vOut, beta1, beta2, (learningRate * c2) / (1 - beta1 ** step), epsilon * c2);
  for (const [variable, values] of [[param, wOut], [m, mOut], [v, vOut]] as const) {
    const next = tf.tensor(values, variable.shape, 'float32');
    variable.assign(next);
    next.dispose();
  }
  return true;
}
