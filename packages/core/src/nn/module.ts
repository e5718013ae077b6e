import * as tf from '@tensorflow/tfjs-core';

/**
 * Base of every trainable component. A module owns named `tf.Variable`s
 * (trainable parameters and non-trainable buffers such as BatchNorm running
 * statistics) and named child modules. Dotted names (`encoder.body.0.kernel`)
 * are stable and are the keys of checkpoints.
 *
 * Training / evaluation mode is explicit: `train()` / `eval()` set it for the
 * whole subtree.
 */
export abstract class Module {
  private readonly ownParams = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  private isTraining = true;
  private disposed = false;

  get training(): boolean {
    return this.isTraining;
  }

  /** Register a trainable parameter; the module takes ownership of `init`. */
  protected addParameter(name: string, init: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(init, true);
    init.dispose();
    this.ownParams.set(name, v);
    return v;
  }

  /** Register non-trainable state saved in checkpoints (running stats, power-iteration vectors). */
  protected addBuffer(name: string, init: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(init, false);
    init.dispose();
    this.ownBuffers.set(name, v);
    return v;
  }

  /** Register a child module under `name`; returns it for chaining. */
  protected addModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.children.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Module: invalid name "${name}" (use letters, digits, _)`);
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new Error(`Module: name "${name}" is already used in ${this.constructor.name}`);
    }
  }

  /** Child modules by name, in registration order. */
  namedChildren(): Map<string, Module> {
    return new Map(this.children);
  }

  /** Trainable parameters with dotted names, in a stable order. */
  namedParameters(prefix = ''): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [n, v] of this.ownParams) out.set(prefix + n, v);
    for (const [n, c] of this.children) for (const [k, v] of c.namedParameters(`${prefix}${n}.`)) out.set(k, v);
    return out;
  }

  /** Non-trainable buffers with dotted names. */
  namedBuffers(prefix = ''): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [n, v] of this.ownBuffers) out.set(prefix + n, v);
    for (const [n, c] of this.children) for (const [k, v] of c.namedBuffers(`${prefix}${n}.`)) out.set(k, v);
    return out;
  }

  /** Every variable (parameters then buffers): what a checkpoint stores. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Trainable parameters in a stable order. */
  parameters(): tf.Variable[] {
    return [...this.namedParameters().values()];
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    let n = 0;
    for (const v of this.parameters()) n += v.size;
    return n;
  }

  /** Set training mode (true) or evaluation mode (false) for the subtree. */
  train(mode = true): this {
    this.isTraining = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Free every variable of the subtree. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.ownParams.values()) v.dispose();
    for (const v of this.ownBuffers.values()) v.dispose();
    for (const c of this.children.values()) c.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

/** A module that maps one tensor to one tensor. */
export abstract class Layer extends Module {
  /** @param x input tensor; the output shape depends on the layer. */
  abstract apply(x: tf.Tensor): tf.Tensor;
}
