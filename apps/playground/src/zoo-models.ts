import type { GenerativeModel } from '@elbo/core';
import { loadPretrained } from '@elbo/zoo';

/** Where the build serves @elbo/zoo's model files (vite.config.ts copies them there), on the page's own origin. */
export const ZOO_BASE_URL = `${import.meta.env.BASE_URL}zoo`;

/** Pretrained models, each fetched, checked and built once per page (and per backend start). */
export class ZooModels {
  private readonly cache = new Map<string, Promise<GenerativeModel>>();

  constructor(readonly baseUrl = ZOO_BASE_URL) {}

  /** The model `name`, loaded on first use; a failed load is forgotten, so the next call tries again. */
  get(name: string): Promise<GenerativeModel> {
    let model = this.cache.get(name);
    if (!model) {
      model = loadPretrained(name, { baseUrl: this.baseUrl });
      this.cache.set(name, model);
      model.catch(() => this.cache.delete(name));
    }
    return model;
  }

  /** A fresh copy of `name` that the caller owns (to train it without changing the views' copy). */
  fresh(name: string): Promise<GenerativeModel> {
    return loadPretrained(name, { baseUrl: this.baseUrl });
  }

  /** Names of the models loaded so far. */
  async loaded(): Promise<string[]> {
    const names: string[] = [];
    for (const [name, model] of this.cache) if (await model.then(() => true, () => false)) names.push(name);
    return names;
  }

  /** Dispose every cached model (after a backend failed under them: their weights may be unreadable). */
  async clear(): Promise<void> {
    const models = [...this.cache.values()];
    this.cache.clear();
    for (const m of models) {
      try {
        (await m).dispose();
      } catch {
        // A model that never loaded, or whose backend is broken, has nothing left to free.
      }
    }
  }
}
