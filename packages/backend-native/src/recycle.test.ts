import '@elbo/core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { poolBytes } from './backend';
import './index';

beforeAll(async () => {
  await tf.setBackend('native');
});

/** The stored array of a tensor, read without marking it as escaped. */
function storage(t: tf.Tensor): Float32Array {
  return (tf.backend() as MathBackendCPU).data.get(t.dataId).values as Float32Array;
}

const N = 4096;
const input = (v: number) => tf.fill([N], v);

describe('output-buffer recycling', () => {
  it('reuses the array of a disposed native output', () => {
    const x = input(-1);
    const y = tf.neg(x);
    const first = storage(y);
    y.dispose();
    const z = tf.neg(x);
    expect(storage(z).buffer).toBe(first.buffer);
    expect(storage(z)[0]).toBe(1);
    tf.dispose([x, z]);
  });

  it('never reuses an array a caller read (dataSync)', () => {
    const x = input(2);
    const y = tf.neg(x);
    const held = y.dataSync();
    y.dispose();
    const z = tf.mul(x, 10);
    expect(storage(z).buffer).not.toBe(held.buffer);
    expect(held[0]).toBe(-2);
    tf.dispose([x, z]);
  });

  it('never reuses an array while a view of it (a simple slice) is alive', () => {
    const x = input(3);
    const y = tf.neg(x);
    const s = tf.slice(y, [0], [N / 2]);
    y.dispose();
    const z = tf.mul(x, 7);
    expect(z.dataSync()[0]).toBe(21);
    expect(s.dataSync()[0]).toBe(-3);
    tf.dispose([x, s, z]);
  });

  it('never reuses an array shared by a reshape or clone that is alive', () => {
    const x = input(4);
    const y = tf.neg(x);
    const r = tf.reshape(y, [64, 64]);
    const c = tf.clone(y);
    y.dispose();
    const z = tf.mul(x, 5);
    expect(r.dataSync()[0]).toBe(-4);
    expect(c.dataSync()[0]).toBe(-4);
    expect(z.dataSync()[0]).toBe(20);
    tf.dispose([x, r, c, z]);
  });

  it('keeps a whole step of large activations: nine 33.5 MB arrays (a 64x64 conv decoder at batch 64) all come back', () => {
    const x = tf.fill([64, 64, 64, 32], -1);
    const outs = Array.from({ length: 9 }, () => tf.neg(x));
    const buffers = new Set(outs.map((t) => storage(t).buffer));
    tf.dispose(outs);
    const again = Array.from({ length: 9 }, () => tf.neg(x));
    // 302 MB in all, over the former 256 MB bound: every array is reused, none allocated afresh.
    expect(again.every((t) => buffers.has(storage(t).buffer))).toBe(true);
    tf.dispose([x, ...again]);
  });

  it('ELBO_NATIVE_POOL_MB sets the byte bound; a value that is not a size warns and keeps 1024 MB', () => {
    expect(poolBytes(undefined)).toBe(1024 * 1024 * 1024);
    expect(poolBytes('64')).toBe(64 * 1024 * 1024);
    expect(poolBytes('0')).toBe(0);
    const warn = console.warn;
    const said: string[] = [];
    console.warn = (m: string) => said.push(m);
    try {
      expect(poolBytes('lots')).toBe(1024 * 1024 * 1024);
    } finally {
      console.warn = warn;
    }
    expect(said).toEqual(['@elbo/backend-native: ELBO_NATIVE_POOL_MB must be a number of megabytes >= 0, got "lots"; using 1024']);
  });
});
