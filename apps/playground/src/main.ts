import * as tf from '@tensorflow/tfjs-core';
import { failingBackends, fallbackOrder, type PlaygroundBackend, switchBackend } from './backends';
import { loadMnistSubset, type MnistSubset } from './mnist-asset';
import { registerOfflineCache } from './offline';
import { DEFAULT_MODEL, Playground } from './playground';
import { RenderQueue } from './render-queue';
import { mountTraining } from './training-ui';
import { ViewPicker } from './view-picker';
import { VIEWS } from './views';
import { benchZoo } from './zoo-bench';
import { ZooModels } from './zoo-models';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  variant: $<HTMLSelectElement>('variant'),
  backend: $<HTMLSelectElement>('backend'),
  status: $<HTMLParagraphElement>('status'),
  notice: $<HTMLParagraphElement>('notice'),
  viewHost: $<HTMLDivElement>('view-host'),
};

function status(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
}

/** A message that stays (role=alert): which backends failed and which one took over. */
function notice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Debug and test hooks on window.elboPlayground: the trainer, counters of
 * redraws, the render queue's idle(), tf.memory().numTensors, the skipped
 * backends, and the zoo timing bench.
 */
const hooks = {
  playground: null as Playground | null,
  /** Full redraws of the training section. */
  renders: 0,
  /** Grids drawn by the pretrained-model views. */
  viewDraws: 0,
  backend: '',
  /** Backends that failed at start, with their errors. */
  skipped: [] as string[],
  view: () => picker.shown,
  idle: () => queue.idle(),
  numTensors: () => tf.memory().numTensors,
  loadedModels: () => models.loaded(),
  benchZoo: (names: string[], count?: number) => benchZoo(models.baseUrl, names, count),
};
(window as unknown as { elboPlayground: typeof hooks }).elboPlayground = hooks;

const models = new ZooModels();
const queue = new RenderQueue((e) => status(`drawing failed: ${message(e)}`, true));
let mnist: Promise<MnistSubset> | null = null;
const loadMnist = () => (mnist ??= loadMnistSubset(`${import.meta.env.BASE_URL}data/mnist-subset.bin`));
const picker = new ViewPicker({ views: VIEWS, select: ui.variant, host: ui.viewHost, models, queue, mnist: loadMnist, status: (t) => status(t), onDraw: () => hooks.viewDraws++ });

/**
 * Start the first backend of `order` that initialises, passes core's smoke
 * test and draws the first view: a failure anywhere there (a shader that does
 * not compile, an op the backend lacks) hands over to the next backend, with
 * a visible notice, instead of leaving the page stuck.
 */
async function startBackend(order: PlaygroundBackend[], fail: Set<PlaygroundBackend>, firstView: string): Promise<string> {
  for (const name of order) {
    try {
      status(`starting ${name}…`);
      const choice = await switchBackend(name, { fail: fail.has(name) });
      await picker.show(firstView);
      return choice.name;
    } catch (e) {
      hooks.skipped.push(`${name}: ${message(e)}`);
      picker.close();
      // Weights that live on the failed backend may not be readable any more; load them afresh on the next one.
      await models.clear();
      const next = order[order.indexOf(name) + 1];
      notice(`The ${name} backend failed (${message(e)})${next ? `; falling back to ${next}.` : '.'}`);
    }
  }
  throw new Error(`no backend started (${hooks.skipped.join('; ')})`);
}

async function main(): Promise<void> {
  document.body.dataset.state = 'loading';
  registerOfflineCache();
  const params = new URLSearchParams(location.search);
  void loadMnist().catch(() => undefined); // fetched in parallel with the backend; errors surface where it is awaited
  const fail = failingBackends(location.search);
  const active = await startBackend(fallbackOrder(params.get('backend')), fail, picker.entry(params.get('view')).id);
  hooks.backend = active;
  ui.backend.value = active;
  const url = new URL(location.href);
  url.searchParams.set('backend', active);
  history.replaceState(null, '', url);
  if (hooks.skipped.length) notice(`The ${hooks.skipped.map((s) => s.split(':')[0]).join(' and ')} backend${hooks.skipped.length > 1 ? 's' : ''} failed; running on ${active}. Details: ${hooks.skipped.join('; ')}`);

  const data = await loadMnist();
  const playground = new Playground(data, DEFAULT_MODEL);
  playground.backend = active;
  hooks.playground = playground;

  const run = async (label: string, action: () => Promise<void>) => {
    training.setState('busy');
    try {
      await action();
    } catch (e) {
      status(`${label} failed: ${message(e)}`, true);
      document.body.dataset.error = String(e);
    } finally {
      training.setState('ready');
    }
  };
  const training = mountTraining({
    playground,
    data,
    status,
    run,
    onRender: () => hooks.renders++,
    pretrained: () => models.fresh('vae-mnist'),
    lock: [ui.backend],
  });
  training.setState('busy');
  await training.render();
  status(`${data.train.count} training images loaded; backend ${active}${hooks.skipped.length ? ` (skipped ${hooks.skipped.join('; ')})` : ''}; ${picker.shown} view ready`);
  training.setState('ready');

  ui.backend.addEventListener('change', () => run('switching backend', async () => {
    await queue.idle();
    hooks.backend = await playground.useBackend(ui.backend.value as PlaygroundBackend);
    ui.backend.value = hooks.backend;
    const u = new URL(location.href);
    u.searchParams.set('backend', hooks.backend);
    history.replaceState(null, '', u);
    await queue.schedule('pick', () => picker.show(picker.shown ?? VIEWS[0].id));
    await training.render();
    status(`backend ${hooks.backend}`);
  }));
}

main().catch((e) => {
  status(`the playground failed to start: ${message(e)}`, true);
  document.body.dataset.state = 'error';
  document.body.dataset.error = String(e);
});
