import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { binaryKernelConfig, NATIVE_BINARY_KERNELS } from './kernels/binary';
import { conv2dBackpropFilterKernelConfig, conv2dBackpropInputKernelConfig, conv2dKernelConfig } from './kernels/conv2d';
import { batchMatMulKernelConfig, fusedMatMulKernelConfig } from './kernels/matmul';
import { sumKernelConfig } from './kernels/sum';
import { NATIVE_UNARY_KERNELS, unaryKernelConfig } from './kernels/unary';
import { nativeLoadError } from './native-addon';

/** The tfjs backend name this package registers. */
export const NATIVE_BACKEND_NAME = 'native';

/**
 * Priority among registered backends: above tfjs-backend-cpu (1) and wasm (2),
 * below tfjs-node (3), so importing the package makes it the default on a
 * machine without tfjs-node.
 */
export const NATIVE_BACKEND_PRIORITY = 2.5;

/** Kernels this backend runs natively; every other kernel is tfjs-backend-cpu's. */
export const NATIVE_KERNEL_NAMES: readonly string[] = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  ...NATIVE_BINARY_KERNELS,
  ...NATIVE_UNARY_KERNELS,
  'Sum',
];

/**
 * tfjs-backend-cpu's backend, unchanged: tensors stay TypedArrays in JS
 * memory, which the native kernels read and write in place. Only the kernel
 * registry differs (see registerNativeBackend).
 */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU prints "install tfjs-node to speed things up" on first
    // write in Node; this backend is the speed-up, so the advice is wrong here.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}

function nativeKernelConfigs(): tf.KernelConfig[] {
  return [
    batchMatMulKernelConfig(),
    fusedMatMulKernelConfig(),
    conv2dKernelConfig(),
    conv2dBackpropInputKernelConfig(),
    conv2dBackpropFilterKernelConfig(),
    ...NATIVE_BINARY_KERNELS.map(binaryKernelConfig),
    ...NATIVE_UNARY_KERNELS.map(unaryKernelConfig),
    sumKernelConfig(),
  ];
}

let registered = false;

/**
 * Registers backend 'native': every kernel tfjs-backend-cpu has registered so
 * far, with the hot ones (NATIVE_KERNEL_NAMES) replaced by native code.
 * Idempotent. Returns false, registering nothing, when the addon is not
 * available (`nativeLoadError()` says why).
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  if (nativeLoadError()) return false;
  const natives = nativeKernelConfigs();
  const replaced = new Set(natives.map((k) => k.kernelName));
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (!replaced.has(config.kernelName)) tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME });
  }
  for (const config of natives) tf.registerKernel(config);
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(), NATIVE_BACKEND_PRIORITY);
  registered = true;
  return true;
}
