import { describe, expect, it } from 'vitest';
import { RenderQueue } from './render-queue';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('RenderQueue', () => {
  it('runs tasks one at a time, in order', async () => {
    const q = new RenderQueue((e) => { throw e; });
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name}:start`);
      await tick();
      log.push(`${name}:end`);
    };
    q.schedule('a', task('a'));
    q.schedule('b', task('b'));
    await q.idle();
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    expect(q.size).toBe(0);
  });

  it('replaces a waiting task with a newer one of the same key, so a held slider redraws once per turn', async () => {
    const q = new RenderQueue((e) => { throw e; });
    const ran: number[] = [];
    q.schedule('busy', () => tick());
    for (let i = 0; i < 5; i++) q.schedule('draw', async () => void ran.push(i));
    await q.idle();
    expect(ran).toEqual([4]);
  });

  it('reports a failing task and goes on with the next', async () => {
    const errors: unknown[] = [];
    const q = new RenderQueue((e) => errors.push(e));
    let after = false;
    q.schedule('bad', async () => {
      throw new Error('boom');
    });
    q.schedule('good', async () => {
      after = true;
    });
    await q.idle();
    expect(errors.map(String)).toEqual(['Error: boom']);
    expect(after).toBe(true);
  });

  it('idle() also waits for tasks that tasks queue', async () => {
    const q = new RenderQueue((e) => { throw e; });
    let inner = false;
    q.schedule('outer', async () => {
      q.schedule('inner', async () => {
        await tick();
        inner = true;
      });
    });
    await q.idle();
    expect(inner).toBe(true);
  });
});
