import type { GenerativeModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { button, figure, pixels, row, slider, type Slider } from './controls';
import type { VariantView, ViewContext } from './types';

const SIDE = 64;
const RANGE = 3;
/** Values of the traversed coordinate in the strip. */
const STEPS = Array.from({ length: 9 }, (_, i) => -RANGE + (2 * RANGE * i) / 8);

/**
 * tcvae-dsprites: one slider per latent coordinate sets z (first a draw
 * from the prior); the image is decode(z), and the strip traverses the last
 * coordinate moved or focused (decode z with that coordinate set to -3 … 3,
 * the others as on the sliders).
 */
/** Each image of `p` ([n * dim]) divided by its own maximum (blank images stay blank). */
function stretched(p: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(p.length);
  for (let o = 0; o < p.length; o += dim) {
    let max = 0;
    for (let i = o; i < o + dim; i++) max = Math.max(max, p[i]);
    const k = max > 1e-3 ? 1 / max : 1;
    for (let i = o; i < o + dim; i++) out[i] = p[i] * k;
  }
  return out;
}

export function createTcvaeView(): VariantView {
  return {
    async mount(host: HTMLElement, model: GenerativeModel, ctx: ViewContext) {
      const d = model.config.latentDim;
      let traversed = 0;
      const image = figure('tcvae-image', 'decode(z)');
      const strip = figure('tcvae-traversal', 'Traversal of z1 from -3 to 3');
      const z = () => sliders.map((s) => s.value());
      const draw = async () => {
        const base = z();
        const rows = STEPS.map((v) => base.map((b, j) => (j === traversed ? v : b)));
        const [one, many] = tf.tidy(() => [model.decode(tf.tensor2d([base], [1, d])).mean(), model.decode(tf.tensor2d(rows, [STEPS.length, d])).mean()]);
        const [a, b] = (await Promise.all([pixels(one), pixels(many)])).map((p) => (stretch.checked ? stretched(p, SIDE * SIDE) : p));
        ctx.draw(image.canvas, a, 1, SIDE, SIDE, 1, 3);
        ctx.draw(strip.canvas, b, STEPS.length, SIDE, SIDE, STEPS.length, 1);
        strip.figure.querySelector('figcaption')!.textContent = `Traversal of z${traversed + 1} from -${RANGE} to ${RANGE}`;
      };
      const sliders: Slider[] = Array.from({ length: d }, (_, j) =>
        slider(`tcvae-z${j + 1}`, `z${j + 1}`, { min: -RANGE, max: RANGE, step: 0.25, value: 0 }, () => {
          traversed = j;
          ctx.schedule('draw', draw);
        }, 2),
      );
      for (const s of sliders) s.input.addEventListener('focus', () => {
        // Focusing a slider shows its traversal before it moves.
        const j = sliders.indexOf(s);
        if (j !== traversed) {
          traversed = j;
          ctx.schedule('draw', draw);
        }
      });
      /** Set the sliders to a draw from the prior (rounded to their steps). */
      const drawZ = () => {
        const t = tf.randomNormal([d], 0, 1, 'float32', model.rng.nextSeed());
        const v = t.dataSync();
        t.dispose();
        sliders.forEach((s, j) => s.set(Math.max(-RANGE, Math.min(RANGE, Math.round(v[j] * 4) / 4))));
      };
      const random = button('tcvae-random', 'Random z', () => {
        drawZ();
        ctx.schedule('draw', draw);
      });
      const zero = button('tcvae-zero', 'z = 0', () => {
        for (const s of sliders) s.set(0);
        ctx.schedule('draw', draw);
      });
      // This small model's decoder means are faint blurs (their brightest pixel is often well under 1).
      const stretch = document.createElement('input');
      Object.assign(stretch, { type: 'checkbox', id: 'tcvae-stretch', checked: true });
      stretch.addEventListener('change', () => ctx.schedule('draw', draw));
      const stretchLabel = document.createElement('label');
      stretchLabel.append(stretch, ' Stretch contrast (each image scaled to its brightest pixel)');
      const grid = document.createElement('div');
      grid.className = 'sliders';
      grid.append(...sliders.map((s) => s.label));
      const pictures = document.createElement('div');
      pictures.className = 'explorer';
      pictures.append(image.figure, strip.figure);
      host.append(row(random, zero, stretchLabel), grid, pictures);
      // Start from a draw of the prior: z = 0 decodes to an almost empty canvas with this model
      // (the prior's mean is not a typical code), while draws show a shape.
      drawZ();
      await draw();
    },
    dispose() {},
  };
}
