import type { GenerativeModel } from '@elbo/core';
import { button, figure, pixels, row, slider } from './controls';
import type { VariantView, ViewContext } from './types';

const COUNT = 16;

/** vqvae-mnist: code grids drawn from the learned PixelCNN prior (at a temperature), decoded. */
export function createVqvaeView(): VariantView {
  return {
    async mount(host: HTMLElement, model: GenerativeModel, ctx: ViewContext) {
      const grid = figure('vqvae-samples', `${COUNT} samples: 4x4 codes drawn from the PixelCNN prior, then decoded`);
      const draw = async () => {
        // sample() draws the codes autoregressively (one prior pass per code) and manages its own tensors.
        ctx.draw(grid.canvas, await pixels(model.sample(COUNT, { temperature: temperature.value() })), COUNT, 28, 28, 8, 3);
      };
      const temperature = slider('vqvae-temperature', 'Prior temperature', { min: 0.1, max: 2, step: 0.1, value: 1 }, () => ctx.schedule('draw', draw));
      host.append(row(button('vqvae-resample', 'Resample', () => ctx.schedule('draw', draw)), temperature.label), grid.figure);
      await draw();
    },
    dispose() {},
  };
}
