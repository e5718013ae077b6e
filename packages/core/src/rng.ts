/**
 * Seeded, splittable random number generator. One user seed drives every
 * random draw in elbo (initialisation, reparameterisation noise, shuffling):
 * components take an `Rng`, derive child streams with `fork()`, and pass
 * `nextSeed()` to tfjs random ops, which are deterministic for a given seed.
 *
 * The core generator is sfc32 (Small Fast Counting, PractRand-clean) seeded
 * through splitmix32.
 *
 * @example
 * const rng = new Rng(42);
 * const init = rng.fork('init');
 * tf.randomNormal([2, 3], 0, 1, 'float32', init.nextSeed());
 */
export interface RngState {
  a: number;
  b: number;
  c: number;
  d: number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(label: string): number {
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** @param seed any finite number; the same seed gives the same stream. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    const sm = splitmix32(Math.floor(seed) ^ Math.floor(seed / 2 ** 32));
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer seed for a tfjs random op (`tf.randomNormal(..., seed)`). */
  nextSeed(): number {
    return this.nextUint32();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * An independent child stream. With a label, the child depends only on this
   * generator's current state and the label, and this generator does not
   * advance; without one, it draws from this stream.
   */
  fork(label?: string): Rng {
    if (label === undefined) return new Rng(this.nextUint32() * 4294967296 + this.nextUint32());
    const child = new Rng(0);
    const sm = splitmix32((hashString(label) ^ this.a ^ Math.imul(this.d, 0x27d4eb2d)) >>> 0);
    child.setState({ a: (sm() ^ this.b) >>> 0, b: (sm() ^ this.c) >>> 0, c: sm(), d: (sm() ^ this.d) >>> 0 });
    for (let i = 0; i < 12; i++) child.nextUint32();
    return child;
  }

  /** The full generator state, for checkpoints. */
  getState(): RngState {
    return { a: this.a, b: this.b, c: this.c, d: this.d };
  }

  setState(state: RngState): void {
    for (const k of ['a', 'b', 'c', 'd'] as const) {
      if (!Number.isInteger(state[k]) || state[k] < 0 || state[k] > 0xffffffff) {
        throw new Error(`Rng.setState: field "${k}" must be an unsigned 32-bit integer, got ${state[k]}`);
      }
    }
    this.a = state.a >>> 0;
    this.b = state.b >>> 0;
    this.c = state.c >>> 0;
    this.d = state.d >>> 0;
  }
}
