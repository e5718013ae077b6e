import { isPlaygroundBackend, PLAYGROUND_BACKENDS, type PlaygroundBackend } from './backends';
import { loadMnistSubset } from './mnist-asset';
import { DEFAULT_MODEL, Playground } from './playground';
import { drawImageGrid, drawLossCurve } from './render';
import { registerOfflineCache } from './offline';

const MANIFOLD_SPAN = 12;
const MANIFOLD_RANGE = 2.5;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  backend: $<HTMLSelectElement>('backend'),
  latentDim: $<HTMLInputElement>('latent-dim'),
  hiddenDim: $<HTMLInputElement>('hidden-dim'),
  steps: $<HTMLInputElement>('steps'),
  batchSize: $<HTMLInputElement>('batch-size'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  reset: $<HTMLButtonElement>('reset'),
  save: $<HTMLButtonElement>('save'),
  load: $<HTMLButtonElement>('load'),
  status: $<HTMLParagraphElement>('status'),
  loss: $<HTMLCanvasElement>('loss'),
  samples: $<HTMLCanvasElement>('samples'),
  reconstructions: $<HTMLCanvasElement>('reconstructions'),
  interpolation: $<HTMLCanvasElement>('interpolation'),
  manifold: $<HTMLCanvasElement>('manifold'),
  decoded: $<HTMLCanvasElement>('decoded'),
  z: $<HTMLOutputElement>('z'),
  explorerCaption: $<HTMLElement>('explorer-caption'),
};

function status(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
}

/** Page state for people and for the end-to-end test: loading | ready | busy | training | error. */
function setState(state: string): void {
  document.body.dataset.state = state;
  const busy = state !== 'ready';
  for (const b of [ui.train, ui.reset, ui.save, ui.load, ui.backend]) b.disabled = busy;
  ui.stop.disabled = state !== 'training';
}

function intInput(input: HTMLInputElement, name: string): number {
  const v = Number(input.value);
  const min = Number(input.min);
  const max = Number(input.max);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(input.value)}`);
  return v;
}

async function run(label: string, action: () => Promise<void>): Promise<void> {
  setState('busy');
  try {
    await action();
    setState('ready');
  } catch (e) {
    setState('ready');
    status(`${label} failed: ${e instanceof Error ? e.message : String(e)}`, true);
    document.body.dataset.error = String(e);
  }
}

async function main(): Promise<void> {
  setState('loading');
  registerOfflineCache();
  const data = await loadMnistSubset(`${import.meta.env.BASE_URL}data/mnist-subset.bin`);
  const playground = new Playground(data, DEFAULT_MODEL);
  const hooks = { playground, renders: 0 };
  (window as unknown as { elboPlayground: typeof hooks }).elboPlayground = hooks;

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
    hooks.renders++;
  }

  async function activate(name: PlaygroundBackend): Promise<void> {
    status(`starting ${name}…`);
    const active = await playground.useBackend(name);
    ui.backend.value = active;
    const url = new URL(location.href);
    url.searchParams.set('backend', active);
    history.replaceState(null, '', url);
  }

  // Backend: ?backend=NAME, else the first of webgpu > webgl > wasm > cpu that starts and passes the smoke test.
  const asked = new URLSearchParams(location.search).get('backend');
  const order = isPlaygroundBackend(asked) ? [asked] : [...PLAYGROUND_BACKENDS];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      await activate(name);
      break;
    } catch (e) {
      skipped.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (skipped.length === order.length) throw new Error(`no backend started (${skipped.join('; ')})`);
  await render();
  status(`${data.train.count} training images loaded; backend ${playground.backend}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`);
  setState('ready');

  ui.backend.addEventListener('change', () => run('switching backend', async () => {
    await activate(ui.backend.value as PlaygroundBackend);
    await render();
    status(`backend ${playground.backend}`);
  }));

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

  ui.reset.addEventListener('click', () => run('new model', async () => {
    playground.reset({ ...DEFAULT_MODEL, latentDim: intInput(ui.latentDim, 'Latent dims'), hiddenDim: intInput(ui.hiddenDim, 'Hidden units') });
    await render();
    status(`new model: ${playground.model.numParameters()} parameters`);
  }));

  ui.save.addEventListener('click', () => run('save', async () => {
    await playground.save();
    status('saved to IndexedDB (indexeddb://elbo-playground)');
  }));

  ui.load.addEventListener('click', () => run('load', async () => {
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
  pending = [0, 0];
  await decodePending();
}

main().catch((e) => {
  status(`the playground failed to start: ${e instanceof Error ? e.message : String(e)}`, true);
  document.body.dataset.state = 'error';
  document.body.dataset.error = String(e);
});
