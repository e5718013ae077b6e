import '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { NATIVE_BACKEND_NAME, NATIVE_KERNEL_NAMES, nativeAvailable, nativeInfo, nativeLoadError } from './index';

describe('registration', () => {
  it('loads the addon on this machine and reports what it chose', () => {
    // The repo's CI builds the addon during `pnpm install`; a failure here is a build failure.
    expect(nativeLoadError()).toBeNull();
    expect(nativeAvailable()).toBe(true);
    const info = nativeInfo();
    expect(info?.threads).toBeGreaterThanOrEqual(1);
    expect(info?.source).toMatch(/^(prebuild|node-gyp)$/);
    expect(info?.gemmKernel).toMatch(/^(avx512f|avx2-fma|neon|generic)-\d+x\d+$/);
  });

  it("registers backend 'native' and every intended kernel is the native one, not the cpu one", () => {
    expect(tf.findBackendFactory(NATIVE_BACKEND_NAME)).toBeTruthy();
    // Names checked against tfjs-core's own kernel-name constants: a misspelt override silently does nothing.
    for (const name of NATIVE_KERNEL_NAMES) {
      expect((Object.values(tf) as unknown[]).includes(name), `${name} is a tfjs kernel name`).toBe(true);
      const native = tf.getKernel(name, NATIVE_BACKEND_NAME);
      const cpu = tf.getKernel(name, 'cpu');
      expect(native, name).toBeTruthy();
      expect(cpu, name).toBeTruthy();
      expect(native?.kernelFunc, name).not.toBe(cpu?.kernelFunc);
    }
    expect(NATIVE_KERNEL_NAMES).toEqual(expect.arrayContaining(['BatchMatMul', '_FusedMatMul', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Multiply', 'Add', 'Sum']));
  });

  it('counts the pool runs that went parallel and those it kept on the calling thread', () => {
    const before = nativeInfo()!.runs;
    const a = tf.randomUniform([256, 256]);
    const c = tf.matMul(a, a);
    c.dataSync();
    const after = nativeInfo()!.runs;
    tf.dispose([a, c]);
    if (nativeInfo()!.threads > 1) expect(after.parallel + after.solo).toBeGreaterThan(before.parallel + before.solo);
    else expect(after).toEqual(before);
  });

  it('keeps every other cpu kernel', () => {
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const native = new Set(tf.getKernelsForBackend(NATIVE_BACKEND_NAME).map((k) => k.kernelName));
    expect(cpu.filter((k) => !native.has(k))).toEqual([]);
    expect(tf.getKernel('Reshape', NATIVE_BACKEND_NAME)?.kernelFunc).toBe(tf.getKernel('Reshape', 'cpu')?.kernelFunc);
  });
});
