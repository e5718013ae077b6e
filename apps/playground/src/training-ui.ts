import type { MnistSubset } from './mnist-asset';
import { DEFAULT_MODEL, type Playground } from './playground';
import { drawImageGrid, drawLossCurve } from './render';

const MANIFOLD_SPAN = 12;
const MANIFOLD_RANGE = 2.5;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export interface TrainingPage {
  /** Redraw every picture of the trained model. */
  render(): Promise<void>;
  /** Disable the controls while the page is busy ('training' keeps Stop enabled). */
  setState(state: 'ready' | 'busy' | 'training' | 'loading'): void;
}

export interface TrainingOptions {
  playground: Playground;
  data: MnistSubset;
  status: (text: string, error?: boolean) => void;
  /** Run an action with the page busy, reporting its failure in the status line. */
  run: (label: string, action: () => Promise<void>) => Promise<void>;
  /** Called after each full redraw. */
  onRender: () => void;
  /** A fresh pretrained vae-mnist for "Start from vae-mnist". */
  pretrained: () => Promise<import('@elbo/core').GenerativeModel>;
  /** Extra controls to disable while busy (the backend picker). */
  lock: HTMLSelectElement[];
}

function intInput(input: HTMLInputElement, name: string): number {
  const v = Number(input.value);
  const min = Number(input.min);
  const max = Number(input.max);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(input.value)}`);
  return v;
}

/**
 * The "Train in the page" section: train an MLP VAE from scratch or from the
 * pretrained vae-mnist, watch the loss, samples, reconstructions,
 * interpolation and the latent explorer, save to and load from IndexedDB.
 */
export function mountTraining(o: TrainingOptions): TrainingPage {
  const { playground, data, status } = o;
  const ui = {
    latentDim: $<HTMLInputElement>('latent-dim'),
    hiddenDim: $<HTMLInputElement>('hidden-dim'),
    steps: $<HTMLInputElement>('steps'),
    batchSize: $<HTMLInputElement>('batch-size'),
    train: $<HTMLButtonElement>('train'),
    stop: $<HTMLButtonElement>('stop'),
    reset: $<HTMLButtonElement>('reset'),
    finetune: $<HTMLButtonElement>('finetune'),
    save: $<HTMLButtonElement>('save'),
    load: $<HTMLButtonElement>('load'),
    loss: $<HTMLCanvasElement>('loss'),
    samples: $<HTMLCanvasElement>('samples'),
    reconstructions: $<HTMLCanvasElement>('reconstructions'),
    interpolation: $<HTMLCanvasElement>('interpolation'),
    manifold: $<HTMLCanvasElement>('manifold'),
    decoded: $<HTMLCanvasElement>('decoded'),
    z: $<HTMLOutputElement>('z'),
    explorerCaption: $<HTMLElement>('explorer-caption'),
  };

  function setState(state: 'ready' | 'busy' | 'training' | 'loading'): void {
    document.body.dataset.state = state;
    const busy = state !== 'ready';
    for (const b of [ui.train, ui.reset, ui.finetune, ui.save, ui.load, ...o.lock]) b.disabled = busy;
    ui.stop.disabled = state !== 'training';
  }

  async function render(): Promise<void> {
    const v = await playground.views({ span: MANIFOLD_SPAN, range: MANIFOLD_RANGE });
    drawImageGrid(ui.samples, v.samples, 32, data.rows, data.cols, 8);
    drawImageGrid(ui.reconstructions, v.reconstructions, 32, data.rows, data.cols, 8);
    drawImageGrid(ui.interpolation, v.interpolation, 10, data.rows, data.cols, 10);
    drawImageGrid(ui.manifold, v.manifold, MANIFOLD_SPAN * MANIFOLD_SPAN, data.rows, data.cols, MANIFOLD_SPAN, 1);
    drawLossCurve(ui.loss, playground.losses);
    const d = playground.modelConfig.latentDim;
    ui.explorerCaption.textContent = d === 2
      ? 'Latent explorer: move the pointer over the map (z1 →, z2 ↑)'
      : `Latent explorer: dims 1 and 2 of ${d} (the others held at 0); a 2-D model maps the whole latent space`;
    o.onRender();
  }

  ui.train.addEventListener('click', async () => {
    let steps: number;
    let batchSize: number;
    try {
      steps = intInput(ui.steps, 'Steps');
      batchSize = intInput(ui.batchSize, 'Batch');
    } catch (e) {
      status((e as Error).message, true);
      return;
    }
    setState('training');
    const started = performance.now();
    let lastDraw = 0;
    try {
      const result = await playground.train({
        steps,
        batchSize,
        onStep: async (loss, step) => {
          const now = performance.now();
          status(`step ${step}: loss ${loss.toFixed(2)} on ${playground.backend}`);
          if (now - lastDraw > 100) {
            drawLossCurve(ui.loss, playground.losses);
            lastDraw = now;
          }
        },
      });
      await render();
      const seconds = (performance.now() - started) / 1000;
      status(`trained ${result.steps} steps in ${seconds.toFixed(1)} s on ${playground.backend} (${((result.steps * batchSize) / seconds).toFixed(0)} images/s); loss ${playground.losses.at(-1)?.toFixed(2)}${result.reason ? ` (${result.reason})` : ''}`);
      setState('ready');
    } catch (e) {
      setState('ready');
      status(`training failed: ${(e as Error).message}`, true);
    }
  });

  ui.stop.addEventListener('click', () => playground.stop());

  ui.reset.addEventListener('click', () => o.run('new model', async () => {
    playground.reset({ ...DEFAULT_MODEL, latentDim: intInput(ui.latentDim, 'Latent dims'), hiddenDim: intInput(ui.hiddenDim, 'Hidden units') });
    await render();
    status(`new model: ${playground.model.numParameters()} parameters`);
  }));

  ui.finetune.addEventListener('click', () => o.run('loading vae-mnist', async () => {
    playground.adopt(await o.pretrained());
    ui.latentDim.value = String(playground.modelConfig.latentDim);
    ui.hiddenDim.value = String(playground.modelConfig.hiddenDim);
    await render();
    status(`pretrained vae-mnist loaded (${playground.model.numParameters()} parameters): Train fine-tunes it on the page's MNIST subset`);
  }));

  ui.save.addEventListener('click', () => o.run('save', async () => {
    await playground.save();
    status('saved to IndexedDB (indexeddb://elbo-playground)');
  }));

  ui.load.addEventListener('click', () => o.run('load', async () => {
    await playground.load();
    ui.latentDim.value = String(playground.modelConfig.latentDim);
    ui.hiddenDim.value = String(playground.modelConfig.hiddenDim);
    await render();
    status('loaded from IndexedDB');
  }));

  // Latent explorer: decode the point under the pointer; one decode in flight, the latest point wins.
  let pending: [number, number] | null = null;
  let decoding = false;
  async function decodePending(): Promise<void> {
    if (decoding) return;
    decoding = true;
    try {
      while (pending) {
        const [z1, z2] = pending;
        pending = null;
        const pixels = await playground.decodeAt(z1, z2);
        drawImageGrid(ui.decoded, pixels, 1, data.rows, data.cols, 1, 6);
        ui.z.textContent = `z = (${z1.toFixed(2)}, ${z2.toFixed(2)})`;
      }
    } finally {
      decoding = false;
    }
  }
  ui.manifold.addEventListener('pointermove', (event) => {
    if (playground.training) return;
    const box = ui.manifold.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = (event.clientY - box.top) / box.height;
    // Cell centres of the map sit at -range..range, so the map's edges lie half a cell further out.
    const half = MANIFOLD_RANGE * (MANIFOLD_SPAN / (MANIFOLD_SPAN - 1));
    pending = [-half + 2 * half * fx, half - 2 * half * fy];
    void decodePending();
  });

  return {
    render: async () => {
      await render();
      pending = [0, 0];
      await decodePending();
    },
    setState,
  };
}
