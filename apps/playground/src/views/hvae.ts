import type { GenerativeModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { button, figure, pixels, row, slider } from './controls';
import type { VariantView, ViewContext } from './types';

const COUNT = 16;

/** The Ladder VAE's parts this view uses: the top-down prior p(z_i | z_{i+1}) and the decoder. */
interface LadderModel {
  latentDims: number[];
  rng: { nextSeed(): number };
  topDown: { conditional(level: number, zAbove: tf.Tensor): { loc: tf.Tensor; logVar: tf.Tensor } };
  decode(z: tf.Tensor): { mean(): tf.Tensor };
}

/**
 * hvae-mnist: ancestral samples at a temperature, with each level's noise
 * kept, so one level can be redrawn while the others keep their draws: z_L =
 * T eps_L, z_i = mu_p(z_{i+1}) + T sigma_p(z_{i+1}) eps_i. Redrawing the top
 * changes the digits broadly (the levels below follow it through their
 * priors); redrawing the bottom changes details. Noise is kept rather than z,
 * since p(x | z) reads z_1 only and a kept z_1 would hide every change above it.
 */
export function createHvaeView(): VariantView {
  let eps: tf.Tensor[] = [];
  return {
    async mount(host: HTMLElement, generic: GenerativeModel, ctx: ViewContext) {
      const model = generic as unknown as LadderModel;
      const dims = model.latentDims;
      const top = dims.length - 1;
      const redraw = (level: number) => {
        eps[level]?.dispose();
        eps[level] = tf.randomNormal([COUNT, dims[level]], 0, 1, 'float32', model.rng.nextSeed());
      };
      dims.forEach((_, i) => redraw(i));

      const grid = figure('hvae-samples', `${COUNT} ancestral samples (decoder means)`);
      const draw = async () => {
        const t = temperature.value();
        const x = tf.tidy(() => {
          let z = tf.mul(eps[top], t);
          for (let i = top - 1; i >= 0; i--) {
            const p = model.topDown.conditional(i, z);
            z = tf.add(p.loc, tf.mul(tf.mul(tf.exp(tf.mul(p.logVar, 0.5)), eps[i]), t));
          }
          return model.decode(z).mean();
        });
        ctx.draw(grid.canvas, await pixels(x), COUNT, 28, 28, 8, 3);
      };
      const temperature = slider('hvae-temperature', 'Temperature', { min: 0, max: 1.5, step: 0.1, value: 1 }, () => ctx.schedule('draw', draw));
      const levelButtons = dims.map((d, i) => {
        const where = i === 0 ? ', bottom' : i === top ? ', top' : '';
        return button(`hvae-redraw-${i + 1}`, `Redraw level ${i + 1} (${d}-d${where})`, () => {
          redraw(i);
          ctx.schedule('draw', draw);
        });
      });
      const all = button('hvae-resample', 'Redraw all', () => {
        dims.forEach((_, i) => redraw(i));
        ctx.schedule('draw', draw);
      });
      host.append(row(temperature.label, all), row(...levelButtons), grid.figure);
      await draw();
    },
    dispose() {
      tf.dispose(eps);
      eps = [];
    },
  };
}
