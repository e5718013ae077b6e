import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { requireAddon } from '../native-addon';
import { allocOutput, cpuKernel, floatData, sizeOf } from './util';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** The 15 integers native/conv.h ConvParams takes. */
function params(c: Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

/** tfjs's Conv2DInfo for a kernel's attributes (NHWC or NCHW as the attrs say). */
function convInfo(inShape: number[], filterShape: number[], attrs: ConvAttrs, dilations: ConvAttrs['dilations']): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

function usable(c: Conv2DInfo): boolean {
  // NCHW and negative paddings ('valid' with odd rounding) are left to the cpu kernels.
  return c.dataFormat === 'channelsLast' && c.padInfo.top >= 0 && c.padInfo.left >= 0;
}

/** Conv2D as im2col + packed GEMM (NHWC; filter [kH, kW, inC, outC]). */
export function conv2dKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('Conv2D');
  const addon = requireAddon();
  return {
    kernelName: 'Conv2D',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs;
      const { dilations } = attrs;
      const xv = floatData(backend, x);
      const fv = floatData(backend, filter);
      if (!xv || !fv || x.shape.length !== 4 || filter.shape.length !== 4) return fallback(args);
      const info = convInfo(x.shape, filter.shape, attrs, dilations);
      if (!usable(info)) return fallback(args);
      const out = allocOutput(backend, sizeOf(info.outShape));
      addon.conv2d(0, xv, fv, out, params(info));
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    },
  };
}

/**
 * Conv2DBackpropInput: the input gradient of Conv2D and the forward pass of
 * tf.conv2dTranspose. dcol = dy * W^T by GEMM, then col2im.
 */
export function conv2dBackpropInputKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('Conv2DBackpropInput');
  const addon = requireAddon();
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs;
      const { inputShape } = attrs;
      const dv = floatData(backend, dy);
      const fv = floatData(backend, filter);
      if (!dv || !fv || !inputShape || filter.shape.length !== 4) return fallback(args);
      const info = convInfo(inputShape, filter.shape, attrs, 1);
      if (!usable(info) || sizeOf(dy.shape) !== sizeOf(info.outShape)) return fallback(args);
      const out = allocOutput(backend, sizeOf(info.inShape));
      addon.conv2d(1, dv, fv, out, params(info));
      return backend.makeTensorInfo(info.inShape, 'float32', out);
    },
  };
}

/** Conv2DBackpropFilter: dW = im2col(x)^T * dy, one GEMM (split along K when dW is small). */
export function conv2dBackpropFilterKernelConfig(): tf.KernelConfig {
  const fallback = cpuKernel('Conv2DBackpropFilter');
  const addon = requireAddon();
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs;
      const { filterShape } = attrs;
      const xv = floatData(backend, x);
      const dv = floatData(backend, dy);
      if (!xv || !dv || !filterShape || x.shape.length !== 4) return fallback(args);
      const info = convInfo(x.shape, filterShape, attrs, 1);
      if (!usable(info) || sizeOf(dy.shape) !== sizeOf(info.outShape)) return fallback(args);
      const out = allocOutput(backend, sizeOf(filterShape));
      addon.conv2d(2, xv, dv, out, params(info));
      return backend.makeTensorInfo(filterShape, 'float32', out);
    },
  };
}
