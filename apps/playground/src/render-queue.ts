/**
 * Runs the page's tensor work one task at a time, in order. A queued task
 * with the same key as a newer one is replaced by it before it starts, so a
 * slider held down costs one redraw per turn, not one per step. A failing
 * task is reported and the queue goes on.
 */
export class RenderQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<string, () => Promise<void>>();
  private pending = 0;

  constructor(private readonly onError: (e: unknown) => void) {}

  /** Queue `task` under `key` (a waiting task with that key is replaced). */
  schedule(key: string, task: () => Promise<void>): Promise<void> {
    if (this.waiting.has(key)) {
      this.waiting.set(key, task);
      return this.tail;
    }
    this.waiting.set(key, task);
    this.pending++;
    this.tail = this.tail.then(async () => {
      const next = this.waiting.get(key)!;
      this.waiting.delete(key);
      try {
        await next();
      } catch (e) {
        this.onError(e);
      } finally {
        this.pending--;
      }
    });
    return this.tail;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once every task queued so far (and any they queue) has run. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
