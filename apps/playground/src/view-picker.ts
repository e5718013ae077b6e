import { drawImageGrid } from './render';
import type { RenderQueue } from './render-queue';
import type { VariantView, ViewContext, ViewEntry } from './views';
import type { ZooModels } from './zoo-models';
import type { MnistSubset } from './mnist-asset';

export interface ViewPickerOptions {
  views: readonly ViewEntry[];
  select: HTMLSelectElement;
  host: HTMLElement;
  models: ZooModels;
  queue: RenderQueue;
  mnist: () => Promise<MnistSubset>;
  status: (text: string) => void;
  /** Called after every grid a view draws. */
  onDraw?: () => void;
}

/**
 * The variant picker: fills the select, and on a pick loads the zoo model
 * (cached), closes the open view and mounts the new one into `host`.
 */
export class ViewPicker {
  private current: { entry: ViewEntry; view: VariantView } | null = null;

  constructor(private readonly o: ViewPickerOptions) {
    for (const v of o.views) o.select.add(new Option(v.label, v.id));
    o.select.addEventListener('change', () => void o.queue.schedule('pick', () => this.show(o.select.value)));
  }

  /** The id of the open view, or null. */
  get shown(): string | null {
    return this.current?.entry.id ?? null;
  }

  entry(id: string | null): ViewEntry {
    return this.o.views.find((v) => v.id === id) ?? this.o.views[0];
  }

  /** Open view `id` (unknown ids open the first); throws what loading or the first draw threw. */
  async show(id: string): Promise<void> {
    const entry = this.entry(id);
    this.o.select.value = entry.id;
    this.o.status(`loading ${entry.model}…`);
    const started = performance.now();
    const model = await this.o.models.get(entry.model);
    this.close();
    const view = entry.create();
    const current = { entry, view };
    this.current = current;
    const ctx: ViewContext = {
      // A closed view's tasks are dropped: its canvases are gone and its tensors disposed.
      schedule: (key, task) => void this.o.queue.schedule(`${entry.id}:${key}`, async () => {
        if (this.current === current) await task();
      }),
      draw: (canvas, pixels, count, rows, cols, gridCols, scale) => {
        drawImageGrid(canvas, pixels, count, rows, cols, gridCols, scale);
        this.o.onDraw?.();
      },
      mnist: this.o.mnist,
      status: this.o.status,
    };
    this.o.host.dataset.view = entry.id;
    await view.mount(this.o.host, model, ctx);
    const url = new URL(location.href);
    url.searchParams.set('view', entry.id);
    history.replaceState(null, '', url);
    this.o.status(`${entry.model}: loaded and drawn in ${(performance.now() - started).toFixed(0)} ms`);
  }

  /** Close the open view (its tensors are freed, its controls removed). */
  close(): void {
    this.current?.view.dispose();
    this.current = null;
    this.o.host.replaceChildren();
  }
}
