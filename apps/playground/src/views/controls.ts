import * as tf from '@tensorflow/tfjs-core';

/** A native button (keyboard and screen readers get it for free). */
export function button(id: string, text: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.id = id;
  b.type = 'button';
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

export interface Slider {
  label: HTMLLabelElement;
  input: HTMLInputElement;
  output: HTMLOutputElement;
  value(): number;
  set(v: number): void;
}

/** A labelled range input with its value shown beside it; `onInput` runs on every change (keys, pointer). */
export function slider(id: string, text: string, range: { min: number; max: number; step: number; value: number }, onInput: (v: number) => void, digits = 1): Slider {
  const label = document.createElement('label');
  label.className = 'slider';
  const input = document.createElement('input');
  input.type = 'range';
  input.id = id;
  Object.assign(input, { min: String(range.min), max: String(range.max), step: String(range.step), value: String(range.value) });
  const output = document.createElement('output');
  output.htmlFor.add(id);
  const show = () => {
    output.textContent = Number(input.value).toFixed(digits);
  };
  show();
  input.addEventListener('input', () => {
    show();
    onInput(Number(input.value));
  });
  label.append(`${text} `, input, output);
  return {
    label,
    input,
    output,
    value: () => Number(input.value),
    set: (v) => {
      input.value = String(v);
      show();
    },
  };
}

/** A captioned canvas. */
export function figure(id: string, caption: string): { figure: HTMLElement; canvas: HTMLCanvasElement } {
  const f = document.createElement('figure');
  const c = document.createElement('figcaption');
  c.textContent = caption;
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', caption);
  f.append(c, canvas);
  return { figure: f, canvas };
}

/** A row of controls. */
export function row(...children: HTMLElement[]): HTMLDivElement {
  const d = document.createElement('div');
  d.className = 'view-controls';
  d.append(...children);
  return d;
}

/** A tensor's values, read asynchronously (no stall of the page on webgl/webgpu); the tensor is disposed. */
export async function pixels(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
