import { Module, type Rng, stopGradient, oneHotFloat } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';

/** How the codebook learns: by its own loss term (the paper) or by exponential moving averages. */
export type CodebookUpdate = 'gradient' | 'ema';

export interface VectorQuantizerOptions {
  /** 'gradient' (van den Oord et al. 2017, eq. 3) or 'ema' (their appendix A.1). Default 'gradient' here; the model's config defaults to 'ema'. */
  update?: CodebookUpdate;
  /** EMA decay gamma (default 0.99); also the decay of the usage statistics used to find dead codes. */
  decay?: number;
  /** Laplace smoothing of the EMA cluster sizes (default 1e-5). */
  epsilon?: number;
}

/** What one quantisation of a batch of vectors gives (a type alias, so tf.tidy can return it). */
export type Quantized = {
  /** Straight-through quantised vectors ze + stopGradient(e - ze): [n, D]; equals the nearest codes forward. */
  zq: tf.Tensor2D;
  /** Index of the nearest code per row: [n] int32. */
  indices: tf.Tensor1D;
  /** ||stopGradient(ze) - e||^2 per row: [n] (trains the codebook; gradient mode). */
  codebookError: tf.Tensor1D;
  /** ||ze - stopGradient(e)||^2 per row: [n] (the commitment term before its weight commitmentWeight). */
  commitmentError: tf.Tensor1D;
};

/**
 * The vector quantiser of VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017):
 * a codebook e [K, D]; each encoder output is replaced by its nearest code
 * (squared Euclidean distance) and gradients pass straight through to the
 * encoder. The codebook learns either from the codebook loss or, with
 * `update: 'ema'`, from exponential moving averages of the vectors assigned
 * to each code with Laplace-smoothed counts (appendix A.1; Sonnet's
 * VectorQuantizerEMA). Codes that fall out of use can be restarted from
 * encoder outputs (Dhariwal et al. 2020, Jukebox).
 *
 * Variables: `codebook` [K, D] (a parameter in gradient mode, a buffer in EMA
 * mode), `usage` [K] (EMA of assignments per step), `initialized` (0/1), and in EMA mode
 * `emaClusterSize` [K] and `emaSum` [K, D].
 */
export class VectorQuantizer extends Module {
  readonly codebook: tf.Variable;
  readonly usage: tf.Variable;
  readonly initialized: tf.Variable;
  readonly emaClusterSize: tf.Variable | null = null;
  readonly emaSum: tf.Variable | null = null;
  readonly update: CodebookUpdate;
  readonly decay: number;
  readonly epsilon: number;

  /**
   * @param numCodes K, the codebook size
   * @param codeDim D, the size of one code vector
   */
  constructor(
    readonly numCodes: number,
    readonly codeDim: number,
    rng: Rng,
    options: VectorQuantizerOptions = {},
  ) {
    super();
    for (const [k, v] of [['numCodes', numCodes], ['codeDim', codeDim]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`VectorQuantizer: ${k} must be a positive integer, got ${v}`);
    }
    this.update = options.update ?? 'gradient';
    this.decay = options.decay ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-5;
    if (this.update !== 'gradient' && this.update !== 'ema') {
      throw new Error(`VectorQuantizer: update must be 'gradient' or 'ema', got ${String(this.update)}`);
    }
    if (!(this.decay > 0 && this.decay < 1)) throw new Error(`VectorQuantizer: decay must be in (0, 1), got ${this.decay}`);
    if (!(this.epsilon > 0)) throw new Error(`VectorQuantizer: epsilon must be > 0, got ${this.epsilon}`);
    // The paper's (and PyTorch implementations') U(-1/K, 1/K) codebook initialisation.
    const init = tf.randomUniform([numCodes, codeDim], -1 / numCodes, 1 / numCodes, 'float32', rng.nextSeed());
    if (this.update === 'gradient') {
      this.codebook = this.addParameter('codebook', init);
    } else {
      // Starting the sums at the codebook with counts of one makes e = sum / count
      // equal to the initial codebook; zero counts (as some implementations use)
      // blow unused codes up to sum / epsilon after the first update.
      this.emaSum = this.addBuffer('emaSum', init.clone());
      this.emaClusterSize = this.addBuffer('emaClusterSize', tf.ones([numCodes]));
      this.codebook = this.addBuffer('codebook', init);
    }
    this.usage = this.addBuffer('usage', tf.ones([numCodes]));
    this.initialized = this.addBuffer('initialized', tf.scalar(0));
  }

  /** Whether `initFromData` has run (stored as a buffer, so checkpoints carry it). */
  get isInitialized(): boolean {
    return this.initialized.dataSync()[0] === 1;
  }

  /**
   * Data-dependent initialisation (as in Jukebox and vector-quantize-pytorch's
   * k-means init, here its first step): set the codebook to K encoder outputs
   * drawn without replacement (with replacement when there are fewer than K).
   * Without it, a codebook at U(-1/K, 1/K) sits far from the encoder outputs
   * and nearly every vector picks the same code (index collapse).
   * @param ze [n, D] encoder outputs
   */
  initFromData(ze: tf.Tensor, rng: Rng): void {
    this.checkVectors(ze, 'initFromData');
    const n = ze.shape[0];
    const perm = rng.permutation(n);
    const rows = Array.from({ length: this.numCodes }, (_, k) => (n >= this.numCodes ? perm[k] : rng.int(n)));
    tf.tidy(() => {
      const fresh = tf.gather(stopGradient(ze), tf.tensor1d(rows, 'int32'));
      this.codebook.assign(fresh);
      this.emaSum?.assign(fresh);
      this.emaClusterSize?.assign(tf.ones([this.numCodes]));
      this.usage.assign(tf.ones([this.numCodes]));
      this.initialized.assign(tf.scalar(1));
    });
  }

  /**
   * Index of the nearest code for each row (squared Euclidean distance,
   * ||z||^2 - 2 z.e + ||e||^2; ties go to the lower index).
   * @param z [n, D]
   * @returns [n] int32
   */
  nearest(z: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      this.checkVectors(z, 'nearest');
      const dist = tf.add(tf.sub(tf.sum(tf.square(z), 1, true), tf.mul(2, tf.matMul(z as tf.Tensor2D, this.codebook as tf.Tensor2D, false, true))), tf.reshape(tf.sum(tf.square(this.codebook), 1), [1, -1]));
      return tf.argMin(dist, 1) as tf.Tensor1D;
    });
  }

  /**
   * The code vectors of the given indices.
   * @param indices int32 of any shape S
   * @returns [...S, D]
   */
  lookup(indices: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.reshape(tf.cast(indices, 'int32'), [-1]);
      const { max, min } = tf.tidy(() => ({ max: tf.max(flat).dataSync()[0], min: tf.min(flat).dataSync()[0] }));
      if (flat.size > 0 && (min < 0 || max >= this.numCodes)) {
        throw new Error(`VectorQuantizer: code indices must be in [0, ${this.numCodes}), got values in [${min}, ${max}]`);
      }
      return tf.reshape(tf.gather(this.codebook, flat), [...indices.shape, this.codeDim]);
    });
  }

  /**
   * Quantise encoder outputs with the straight-through estimator.
   * @param ze [n, D]
   */
  quantize(ze: tf.Tensor): Quantized {
    return tf.tidy(() => {
      this.checkVectors(ze, 'quantize');
      const indices = this.nearest(ze);
      // A one-hot product rather than tf.gather: the indices hang off ze on the
      // tape, and tfjs's GatherV2 gradient rejects int32 indices on the tape.
      const e = tf.matMul(oneHotFloat(indices, this.numCodes), this.codebook as tf.Tensor2D);
      // Forward: zq = e. Backward: d zq / d ze = I (the straight-through estimator).
      const zq = tf.add(ze, stopGradient(tf.sub(e, ze))) as tf.Tensor2D;
      const codebookError = tf.sum(tf.square(tf.sub(stopGradient(ze), e)), 1) as tf.Tensor1D;
      const commitmentError = tf.sum(tf.square(tf.sub(ze, stopGradient(e))), 1) as tf.Tensor1D;
      return { zq, indices, codebookError, commitmentError };
    });
  }

  /**
   * Assignments per code: [K] float32.
   * @param indices [n] int32
   */
  counts(indices: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => tf.sum(oneHotFloat(tf.reshape(indices, [-1]), this.numCodes), 0) as tf.Tensor1D);
  }

  /**
   * One EMA codebook step (appendix A.1 of van den Oord et al. 2017, with
   * Sonnet's Laplace smoothing):
   *   N_k <- gamma N_k + (1 - gamma) n_k,  m_k <- gamma m_k + (1 - gamma) sum_{i: k(i) = k} ze_i,
   *   N~_k = (N_k + eps) / (sum N + K eps) * sum N,  e_k = m_k / N~_k.
   * No gradient flows through it. Only valid in EMA mode.
   * @param ze [n, D] encoder outputs
   * @param indices [n] their nearest codes
   */
  emaUpdate(ze: tf.Tensor, indices: tf.Tensor): void {
    if (!this.emaClusterSize || !this.emaSum) throw new Error("VectorQuantizer: emaUpdate needs update 'ema'");
    const size = this.emaClusterSize;
    const sum = this.emaSum;
    tf.tidy(() => {
      const g = this.decay;
      const oneHot = oneHotFloat(tf.reshape(indices, [-1]), this.numCodes);
      const n = tf.sum(oneHot, 0);
      const dw = tf.matMul(oneHot, stopGradient(ze as tf.Tensor2D), true, false);
      const newSize = tf.add(tf.mul(size, g), tf.mul(n, 1 - g));
      const newSum = tf.add(tf.mul(sum, g), tf.mul(dw, 1 - g));
      const total = tf.sum(newSize);
      const smoothed = tf.mul(tf.div(tf.add(newSize, this.epsilon), tf.add(total, this.numCodes * this.epsilon)), total);
      size.assign(newSize);
      sum.assign(newSum);
      this.codebook.assign(tf.div(newSum, tf.reshape(smoothed, [-1, 1])));
    });
  }

  /**
   * Update the usage statistics: usage <- decay * usage + (1 - decay) * counts.
   * @param indices [n] the step's assignments
   */
  trackUsage(indices: tf.Tensor): void {
    tf.tidy(() => {
      this.usage.assign(tf.add(tf.mul(this.usage, this.decay), tf.mul(this.counts(indices), 1 - this.decay)));
    });
  }

  /**
   * Restart dead codes (usage below `threshold` assignments per step) at
   * encoder outputs drawn uniformly from `ze`, as in Jukebox; their usage is
   * reset to the threshold so they get `1 / (1 - decay)` steps to be picked.
   * @param ze [n, D] encoder outputs of the current batch
   * @returns the restarted code indices
   */
  restartDeadCodes(ze: tf.Tensor, threshold: number, rng: Rng): number[] {
    this.checkVectors(ze, 'restartDeadCodes');
    const usage = this.usage.dataSync();
    const dead: number[] = [];
    for (let k = 0; k < this.numCodes; k++) if (usage[k] < threshold) dead.push(k);
    if (dead.length === 0) return dead;
    const rows = dead.map(() => rng.int(ze.shape[0]));
    tf.tidy(() => {
      const idx = tf.tensor1d(dead, 'int32');
      const fresh = tf.gather(stopGradient(ze), tf.tensor1d(rows, 'int32'));
      const replace = (v: tf.Variable, values: tf.Tensor) => {
        // scatter by mask: v * (1 - m) + scatterND(values)
        const mask = tf.reshape(tf.scatterND(tf.reshape(idx, [-1, 1]), tf.ones([dead.length]), [this.numCodes]), v.rank === 2 ? [-1, 1] : [-1]);
        const scattered = tf.scatterND(tf.reshape(idx, [-1, 1]), values, v.shape);
        v.assign(tf.add(tf.mul(v, tf.sub(1, mask)), scattered));
      };
      replace(this.codebook, fresh);
      if (this.emaSum && this.emaClusterSize) {
        replace(this.emaSum, fresh);
        replace(this.emaClusterSize, tf.ones([dead.length]));
      }
      replace(this.usage, tf.fill([dead.length], threshold));
    });
    return dead;
  }

  private checkVectors(z: tf.Tensor, what: string): void {
    if (z.rank !== 2 || z.shape[1] !== this.codeDim) {
      throw new Error(`VectorQuantizer.${what}: expected vectors [n, ${this.codeDim}], got [${z.shape.join(', ')}]`);
    }
  }
}
