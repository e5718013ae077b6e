import type { GenerativeModel } from '@elbo/core';
import type { MnistSubset } from '../mnist-asset';

/** What a view gets from the page: drawing, scheduling, data, messages. */
export interface ViewContext {
  /**
   * Queue a redraw after the ones already queued. A task with the same key
   * that has not started yet is replaced (a slider held down redraws once per
   * turn, not once per step). Tasks of a view that has been closed never run.
   */
  schedule(key: string, task: () => Promise<void>): void;
  /** Draw grey images (values in [0, 1]) as a grid on `canvas`; see drawImageGrid. */
  draw(canvas: HTMLCanvasElement, pixels: Float32Array, count: number, rows: number, cols: number, gridCols: number, scale?: number): void;
  /** The MNIST subset of the page (test images for the cvae's style swap). */
  mnist(): Promise<MnistSubset>;
  /** A message in the page's status line. */
  status(text: string): void;
}

/** One variant's view of its pretrained zoo model. */
export interface VariantView {
  /** Build the controls into `host` and draw the first pictures (directly, not through `schedule`). */
  mount(host: HTMLElement, model: GenerativeModel, ctx: ViewContext): Promise<void>;
  /** Free the tensors the view holds (the model belongs to the page's cache). Idempotent. */
  dispose(): void;
}

/** An entry of the variant picker. */
export interface ViewEntry {
  /** Short id: the picker's value and `?view=`. */
  id: string;
  /** Name of the zoo model it shows. */
  model: string;
  /** Label in the picker. */
  label: string;
  create(): VariantView;
}
