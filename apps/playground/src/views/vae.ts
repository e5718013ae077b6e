import type { GenerativeModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { button, figure, pixels, row, slider } from './controls';
import type { VariantView, ViewContext } from './types';

const COUNT = 32;

/** vae-mnist: a grid of samples from the prior, redrawn on demand, at a chosen temperature. */
export function createVaeView(): VariantView {
  return {
    async mount(host: HTMLElement, model: GenerativeModel, ctx: ViewContext) {
      const grid = figure('vae-samples', `${COUNT} samples from the prior (decoder means)`);
      const draw = async () => {
        const x = tf.tidy(() => model.sample(COUNT, { temperature: temperature.value() }));
        ctx.draw(grid.canvas, await pixels(x), COUNT, 28, 28, 8, 3);
      };
      const temperature = slider('vae-temperature', 'Temperature', { min: 0, max: 1.5, step: 0.1, value: 1 }, () => ctx.schedule('draw', draw));
      host.append(row(button('vae-resample', 'Resample', () => ctx.schedule('draw', draw)), temperature.label), grid.figure);
      await draw();
    },
    dispose() {},
  };
}
