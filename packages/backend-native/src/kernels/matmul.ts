import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type NativeAddon, requireAddon } from '../native-addon';
import { UNARY_OPS } from './unary';
import { allocOutput, broadcastMode, cpuKernel, floatData, sizeOf } from './util';

interface MatMulPlan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
}

/**
 * Shapes of a (batched) matmul of a [..., M, K] (or [..., K, M] when
 * transposeA) by b [..., K, N] (or [..., N, K]). Null when the batch dims
 * broadcast in a way the native call does not cover (then the cpu kernel
 * runs and reports any shape error itself).
 */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null;
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = sizeOf(batchShapeA);
  const batchB = sizeOf(batchShapeB);
  let outBatch: number[];
  try {
    outBatch = tf.backend_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  } catch {
    return null;
  }
  const batch = sizeOf(outBatch);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  return {
    outShape: [...outBatch, m, n],
    batch,
    m,
    n,
    k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
  };
}

function run(backend: MathBackendCPU, addon: NativeAddon, p: MatMulPlan, av: Float32Array, bv: Float32Array, transposeA: boolean, transposeB: boolean): Float32Array {
  const out = allocOutput(backend, p.batch * p.m * p.n);
  addon.sgemm(av, bv, out, p.batch, p.m, p.n, p.k, transposeA, transposeB, p.strideA, p.strideB, false);
  return out;
}

/** BatchMatMul (tf.matMul) with transposes read in place by the packed GEMM. */
export function batchMatMulKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('BatchMatMul');
  const addon = requireAddon();
  return {
    kernelName: 'BatchMatMul',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const av = floatData(backend, a);
      const bv = floatData(backend, b);
      const p = plan(a, b, transposeA, transposeB);
      if (!av || !bv || !p) return fallback(args);
      return backend.makeTensorInfo(p.outShape, 'float32', run(backend, addon, p, av, bv, transposeA, transposeB));
    },
  };
}

const FUSED_ACTIVATIONS: Record<string, number | null> = {
  linear: null,
  relu: UNARY_OPS.Relu,
  relu6: UNARY_OPS.Relu6,
  elu: UNARY_OPS.Elu,
  leakyrelu: UNARY_OPS.LeakyRelu,
  sigmoid: UNARY_OPS.Sigmoid,
};

/** _FusedMatMul (tf.fused.matMul): GEMM, then bias and activation in place on the fresh output. */
export function fusedMatMulKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('_FusedMatMul');
  const addon = requireAddon();
  return {
    kernelName: '_FusedMatMul',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
        activation: string;
        leakyreluAlpha?: number;
      };
      if (!a || !b || preluActivationWeights) return fallback(args);
      const act = FUSED_ACTIVATIONS[activation ?? 'linear'];
      if (act === undefined) return fallback(args);
      const av = floatData(backend, a);
      const bv = floatData(backend, b);
      const p = plan(a, b, transposeA, transposeB);
      if (!av || !bv || !p) return fallback(args);
      let biasValues: Float32Array | null = null;
      let biasMode = null;
      if (bias) {
        biasValues = floatData(backend, bias);
        biasMode = broadcastMode(bias.shape, p.outShape);
        // A bias that widens the output's shape, or an odd broadcast, is rare: let the cpu kernel do it.
        if (!biasValues || biasMode === null || bias.shape.length > p.outShape.length) return fallback(args);
      }
      const out = run(backend, addon, p, av, bv, transposeA, transposeB);
      if (biasValues && biasMode !== null) addon.binary(0, out, 0, biasValues, biasMode, out);
      if (act !== null) addon.unary(act, out, out, leakyreluAlpha ?? 0.2);
      return backend.makeTensorInfo(p.outShape, 'float32', out);
    },
  };
}
