import type { GenerativeModel } from '@elbo/core';
import * as tf from '@tensorflow/tfjs-core';
import { imagesAsFloat } from '../mnist-asset';
import { button, figure, pixels, row } from './controls';
import type { VariantView, ViewContext } from './types';

const COUNT = 16;
const DIGITS = Array.from({ length: 10 }, (_, d) => d);

/** The cvae's methods this view uses (a class label is a plain number). */
interface ConditionalModel {
  config: { latentDim: number };
  rng: { nextSeed(): number };
  sample(n: number, condition: number): tf.Tensor;
  encode(x: tf.Tensor, condition: number): { mean(): tf.Tensor };
  decode(z: tf.Tensor, condition: number[]): { mean(): tf.Tensor };
}

/**
 * cvae-mnist: pick a digit (a radio group: arrow keys move through it) and see
 * samples of it; the style swap decodes one latent "style" under every digit,
 * the style taken from a test image (encoded under its own label) or drawn from the prior.
 */
export function createCvaeView(): VariantView {
  let style: tf.Tensor | null = null;
  const setStyle = (z: tf.Tensor) => {
    style?.dispose();
    style = z;
  };
  return {
    async mount(host: HTMLElement, generic: GenerativeModel, ctx: ViewContext) {
      const model = generic as unknown as ConditionalModel;
      const latentDim = model.config.latentDim;
      let digit = 0;
      let testIndex = 0;

      const picker = document.createElement('fieldset');
      picker.className = 'digits';
      const legend = document.createElement('legend');
      legend.textContent = 'Digit';
      picker.append(legend);
      for (const d of DIGITS) {
        const label = document.createElement('label');
        const radio = document.createElement('input');
        Object.assign(radio, { type: 'radio', name: 'cvae-digit', id: `cvae-digit-${d}`, value: String(d), checked: d === digit });
        radio.addEventListener('change', () => {
          if (!radio.checked) return;
          digit = d;
          ctx.schedule('grid', drawGrid);
        });
        label.append(radio, ` ${d}`);
        picker.append(label);
      }

      const grid = figure('cvae-samples', `${COUNT} samples of the chosen digit`);
      const source = figure('cvae-source', 'Style source');
      const swap = figure('cvae-swap', 'The same style decoded as 0, 1, …, 9');
      const drawGrid = async () => {
        const x = tf.tidy(() => model.sample(COUNT, digit));
        ctx.draw(grid.canvas, await pixels(x), COUNT, 28, 28, 8, 3);
      };
      const drawSwap = async () => {
        const z = style as tf.Tensor;
        const x = tf.tidy(() => model.decode(tf.tile(z, [DIGITS.length, 1]), DIGITS).mean());
        ctx.draw(swap.canvas, await pixels(x), DIGITS.length, 28, 28, DIGITS.length, 3);
      };
      /** Style of test image `testIndex`: its posterior mean under its own label. */
      const styleFromTest = async () => {
        const data = await ctx.mnist();
        const dim = data.rows * data.cols;
        const i = testIndex % data.test.count;
        const image = imagesAsFloat(data.test, i, 1, dim);
        setStyle(tf.tidy(() => model.encode(tf.tensor2d(image, [1, dim]), data.test.labels[i]).mean()));
        ctx.draw(source.canvas, image, 1, data.rows, data.cols, 1, 3);
        source.figure.querySelector('figcaption')!.textContent = `Style source: test image ${i} (a ${data.test.labels[i]})`;
        await drawSwap();
      };
      const styleFromPrior = async () => {
        setStyle(tf.tidy(() => tf.randomNormal([1, latentDim], 0, 1, 'float32', model.rng.nextSeed())));
        // The drawn style's own picture: decoded under the chosen digit.
        const x = tf.tidy(() => model.decode(style as tf.Tensor, [digit]).mean());
        ctx.draw(source.canvas, await pixels(x), 1, 28, 28, 1, 3);
        source.figure.querySelector('figcaption')!.textContent = `Style source: z drawn from the prior, as a ${digit}`;
        await drawSwap();
      };

      const nextImage = button('cvae-next-image', 'Next test image', () => {
        testIndex++;
        ctx.schedule('swap', styleFromTest);
      });
      const randomStyle = button('cvae-random-style', 'Random style', () => ctx.schedule('swap', styleFromPrior));
      const resample = button('cvae-resample', 'Resample', () => ctx.schedule('grid', drawGrid));
      const swapRow = document.createElement('div');
      swapRow.className = 'explorer';
      swapRow.append(source.figure, swap.figure);
      host.append(row(picker, resample), grid.figure, row(nextImage, randomStyle), swapRow);
      await drawGrid();
      await styleFromTest();
    },
    dispose() {
      style?.dispose();
      style = null;
    },
  };
}
