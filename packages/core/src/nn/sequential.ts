import type * as tf from '@tensorflow/tfjs-core';
import { Layer } from './module';

/** Layers applied in order; children are named '0', '1', ... */
export class Sequential extends Layer {
  readonly layers: Layer[];

  constructor(layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.addModule(String(i), l));
  }

  apply(x: tf.Tensor): tf.Tensor {
    // Intermediate results are freed as soon as the next layer has consumed them.
    let y = x;
    for (const layer of this.layers) {
      const next = layer.apply(y);
      if (y !== x && next !== y) y.dispose();
      y = next;
    }
    return y === x ? y.clone() : y;
  }
}
