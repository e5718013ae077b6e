import * as tf from '@tensorflow/tfjs-core';
import { activeBackendName } from '../backends/portable-grads';

/**
 * Adam and SGD for the trainer. tf.train's optimizers do the same maths, but
 * key their state by engine-global variable names (which differ between
 * processes), keep Adam's bias-correction accumulators private and rebuild
 * them with pow() on restore (not bit-identical to the running product), and
 * leak the tensors passed to setWeights. Checkpoints that resume to identical
 * weights need state keyed by the model's dotted names and restored exactly,
 * so the trainer owns these two small optimizers. Adam follows tfjs's update
 * (tested against tf.train.adam), with the bias correction computed in double
 * precision from the step count.
 */
export interface OptimizerConfig {
  kind: 'adam' | 'sgd';
  /** Adam: beta1, beta2, epsilon. SGD: momentum. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  momentum?: number;
}

export interface Optimizer {
  readonly config: Required<Pick<OptimizerConfig, 'kind'>> & OptimizerConfig;
  /** Learning rate used by the next `apply` (the trainer sets it every step). */
  learningRate: number;
  /** Updates applied so far. */
  iterations: number;
  /**
   * One update. `grads[i]` is the gradient of `params[i]`; the order of
   * `params` must be the same at every call (state is kept per position).
   *
   * `gate`, when given, is a scalar on the device (bool, or 1/0): where it is
   * false the update must leave every parameter and every state tensor as it
   * was (the NaN guard's skip of a non-finite step). It must not be read back
   * to the host: the trainer does not wait on the device per step.
   * `iterations` counts the call either way (the host does not know the gate).
   */
  apply(params: tf.Variable[], grads: tf.Tensor[], gate?: tf.Tensor): void;
  /** Create zero state for `params` if there is none (done by the first `apply` otherwise). */
  init(params: tf.Variable[]): void;
  /** The state tensors in a stable order (for zero-copy snapshots in the NaN guard). */
  stateVariables(): tf.Variable[];
  /** State tensors keyed `${paramName}/${slot}`. */
  namedState(paramNames: string[]): Map<string, tf.Variable>;
  /**
   * Replace the state; `values` maps `${paramName}/${slot}` to tensors the
   * optimizer copies (the caller keeps ownership). Every slot of every param must be present.
   */
  setState(params: tf.Variable[], paramNames: string[], iterations: number, values: Map<string, tf.Tensor>): void;
  /** Names of the per-parameter state slots ('m', 'v' for Adam; 'momentum' for SGD with momentum). */
  readonly slots: string[];
  dispose(): void;
}

/** A non-trainable variable that takes over `t` (tf.variable(t) shares t's buffer and leaves t allocated). */
function ownedVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

abstract class SlotOptimizer implements Optimizer {
  abstract readonly config: Optimizer['config'];
  abstract readonly slots: string[];
  iterations = 0;
  protected state: tf.Variable[][] = [];

  constructor(public learningRate: number) {}

  abstract apply(params: tf.Variable[], grads: tf.Tensor[], gate?: tf.Tensor): void;

  /** `variable.assign(next)`, or where `gate` is false keep the current value (call inside tidy). */
  protected assignGated(variable: tf.Variable, next: tf.Tensor, gate?: tf.Tensor): void {
    variable.assign(gate ? tf.where(gate.dtype === 'bool' ? gate : tf.cast(gate, 'bool'), next, variable) : next);
  }

  /** Create zero state for `params` (done by the first `apply` otherwise). */
  init(params: tf.Variable[]): void {
    if (this.state.length === params.length) return;
    if (this.state.length !== 0) throw new Error(`optimizer: got ${params.length} parameters, but its state holds ${this.state.length}`);
    this.state = params.map((p) => this.slots.map(() => ownedVariable(tf.zerosLike(p))));
  }

  stateVariables(): tf.Variable[] {
    return this.state.flat();
  }

  namedState(paramNames: string[]): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.state.forEach((slots, i) => slots.forEach((v, j) => out.set(`${paramNames[i]}/${this.slots[j]}`, v)));
    return out;
  }

  setState(params: tf.Variable[], paramNames: string[], iterations: number, values: Map<string, tf.Tensor>): void {
    if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`optimizer: iterations must be a non-negative integer, got ${iterations}`);
    for (let i = 0; i < params.length; i++) {
      for (const slot of this.slots) {
        const t = values.get(`${paramNames[i]}/${slot}`);
        if (!t) throw new Error(`optimizer state: missing "${paramNames[i]}/${slot}"`);
        if (!tf.util.arraysEqual(t.shape, params[i].shape)) {
          throw new Error(`optimizer state: "${paramNames[i]}/${slot}" has shape [${t.shape}], the parameter has [${params[i].shape}]`);
        }
      }
    }
    this.disposeState();
    this.state = params.map((_, i) => this.slots.map((slot) => ownedVariable(tf.clone(values.get(`${paramNames[i]}/${slot}`)!))));
    this.iterations = iterations;
  }

  protected disposeState(): void {
    for (const v of this.state.flat()) v.dispose();
    this.state = [];
  }

  dispose(): void {
    this.disposeState();
  }
}

/** Settings of one Adam update for a fused implementation. */
export interface FusedAdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based step count t (for the bias corrections). */
  step: number;
  /**
   * Passed only to updates registered with `{ gate: true }`: a scalar tensor
   * (bool) of the active backend; when it is false the update must change
   * nothing (and still return true). A CPU backend reads it from its own
   * memory; no backend may wait on a device for it.
   */
  gate?: tf.Tensor;
}

/**
 * One Adam update of `param`, `m` and `v` from `grad` in a single pass (tfjs
 * runs ~10 tensor ops per variable). Must never change storage another
 * tensor can see (the NaN guard keeps the previous values as clones, a caller
 * may hold an array from dataSync()): assign new values, or write in place
 * only storage the variable alone holds. Returns true, or false, changing
 * nothing, to let Adam run its tensor ops.
 */
export type FusedAdamUpdate = (param: tf.Variable, m: tf.Variable, v: tf.Variable, grad: tf.Tensor, options: FusedAdamOptions) => boolean;

interface FusedAdamRegistration {
  update: FusedAdamUpdate;
  /** The update honours `options.gate` (else Adam gates around it with three selects). */
  gate: boolean;
}

const fusedAdamUpdates = new Map<string, FusedAdamRegistration>();

/**
 * Register (or with null remove) a fused Adam update used by core's Adam while
 * `backendName` is active; a backend package calls this when it is imported.
 * With `{ gate: true }` the update receives the NaN guard's gate in its
 * options and must honour it; without, Adam keeps the previous values and
 * selects between them and the update's on the device.
 * @example registerFusedAdamUpdate('native', fusedAdamUpdate, { gate: true })
 */
export function registerFusedAdamUpdate(backendName: string, update: FusedAdamUpdate | null, options: { gate?: boolean } = {}): void {
  if (update) fusedAdamUpdates.set(backendName, { update, gate: options.gate ?? false });
  else fusedAdamUpdates.delete(backendName);
}

/** Adam (Kingma & Ba 2015) in tfjs's formulation: eps added to sqrt of the bias-corrected second moment. */
export class Adam extends SlotOptimizer {
  readonly config: Optimizer['config'];
  readonly slots = ['m', 'v'];

  constructor(learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7) {
    super(learningRate);
    for (const [k, v] of [['beta1', beta1], ['beta2', beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new Error(`adam: ${k} must be in [0, 1), got ${v}`);
    }
    if (!(epsilon > 0)) throw new Error(`adam: epsilon must be > 0, got ${epsilon}`);
    this.config = { kind: 'adam', beta1, beta2, epsilon };
  }

  apply(params: tf.Variable[], grads: tf.Tensor[], gate?: tf.Tensor): void {
    this.init(params);
    const { beta1, beta2, epsilon } = this.config as Required<OptimizerConfig>;
    const t = this.iterations + 1;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    const fused = fusedAdamUpdates.get(activeBackendName());
    const options: FusedAdamOptions = { learningRate: this.learningRate, beta1, beta2, epsilon, step: t };
    tf.tidy(() => {
      const boolGate = gate ? (gate.dtype === 'bool' ? gate : tf.cast(gate, 'bool')) : undefined;
      // The gate as a float scalar, 1 or 0.
      let open: tf.Tensor | undefined;
      params.forEach((p, i) => {
        const [m, v] = this.state[i];
        const g = grads[i];
        if (fused) {
          if (fused.gate || !boolGate) {
            if (fused.update(p, m, v, g, boolGate ? { ...options, gate: boolGate } : options)) return;
          } else {
            // Clones share the buffers the update replaces (it assigns new ones), so keeping them copies nothing.
            const before = [p, m, v].map((x) => tf.clone(x));
            if (fused.update(p, m, v, g, options)) {
              [p, m, v].forEach((x, j) => x.assign(tf.where(boolGate, x, before[j])));
              return;
            }
          }
        }
        if (!boolGate) {
          const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
          const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
          const step = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), epsilon));
          m.assign(m1);
          v.assign(v1);
          p.assign(tf.sub(p, tf.mul(step, this.learningRate)));
          return;
        }
        // Gated, with one select instead of three (p, m, v): a closed gate makes the moments' decay 1, the
        // gradient's weight 0 and the rate 0, so every value stays exactly as it was, provided the gradient
        // terms are finite; entries whose square is not finite are zeroed first (only a closed gate sees them).
        open ??= tf.where(boolGate, tf.scalar(1), tf.scalar(0));
        const finite = tf.isFinite(tf.square(g));
        const gs = tf.where(finite, g, tf.zerosLike(g));
        const k1 = tf.mul(open, 1 - beta1);
        const k2 = tf.mul(open, 1 - beta2);
        const m1 = tf.add(tf.mul(m, tf.sub(1, k1)), tf.mul(gs, k1));
        const v1 = tf.add(tf.mul(v, tf.sub(1, k2)), tf.mul(tf.square(gs), k2));
        const step = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), epsilon));
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(p, tf.mul(step, tf.mul(open, this.learningRate))));
      });
    });
    this.iterations = t;
  }
}

/** Stochastic gradient descent, optionally with (PyTorch-style) momentum: b = mu b + g; p -= lr b. */
export class Sgd extends SlotOptimizer {
  readonly config: Optimizer['config'];
  readonly slots: string[];

  constructor(learningRate = 1e-3, momentum = 0) {
    super(learningRate);
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`sgd: momentum must be in [0, 1), got ${momentum}`);
    this.config = { kind: 'sgd', momentum };
    this.slots = momentum > 0 ? ['momentum'] : [];
  }

  apply(params: tf.Variable[], grads: tf.Tensor[], gate?: tf.Tensor): void {
    this.init(params);
    const mu = this.config.momentum ?? 0;
    tf.tidy(() => {
      params.forEach((p, i) => {
        let d = grads[i];
        if (mu > 0) {
          const [b] = this.state[i];
          d = tf.add(tf.mul(b, mu), d);
          this.assignGated(b, d, gate);
        }
        this.assignGated(p, tf.sub(p, tf.mul(d, this.learningRate)), gate);
      });
    });
    this.iterations += 1;
  }
}

/** Build an optimizer from its config. */
export function createOptimizer(config: OptimizerConfig, learningRate: number): Optimizer {
  if (config.kind === 'adam') return new Adam(learningRate, config.beta1, config.beta2, config.epsilon);
  if (config.kind === 'sgd') return new Sgd(learningRate, config.momentum);
  throw new Error(`optimizer must be 'adam' or 'sgd', got ${JSON.stringify((config as { kind: unknown }).kind)}`);
}
