import { describe, expect, it } from 'vitest';
import { renderChart } from './charts/render';
import { runSoak, soakChartSpec, soakCsv, soakMarkdown, soakVerdict, DEFAULT_SOAK_BOUNDS, type SoakPoint } from './soak';

describe('soak', () => {
  it('trains the quick MLP VAE 300 steps on native and wasm with flat tf.memory() and RSS after warm-up', async () => {
    const results = await runSoak({ steps: 300, every: 100, backends: ['native', 'wasm'], batchSize: 32, trainLimit: 2000 });
    expect(results.map((r) => r.backend)).toEqual(['native', 'wasm']);
    for (const r of results) {
      expect(r.points.map((p) => p.step)).toEqual([0, 100, 200, 300]);
      expect(r.failures).toEqual([]);
      expect(r.growth.tensors).toBeLessThanOrEqual(0);
    }
    expect(soakCsv(results).split('\n')[1]).toMatch(/^native,0,/);
    expect(soakMarkdown(results)).toContain('| 300 |');
    const chart = await renderChart(soakChartSpec(results) as never);
    expect(chart.svg).toContain('RSS MiB');
    expect(chart.png.subarray(1, 4).toString()).toBe('PNG');
  }, 600_000);

  it('fails a run whose tensors or RSS grow after warm-up', () => {
    const p = (step: number, numTensors: number, rss: number): SoakPoint => ({ step, seconds: step, numTensors, numBytes: numTensors * 4, rss, heapUsed: 0 });
    const flat = [p(0, 10, 100), p(100, 20, 200), p(200, 20, 210), p(300, 20, 205)];
    expect(soakVerdict(flat, 300, DEFAULT_SOAK_BOUNDS)).toMatchObject({ warmupStep: 100, passed: true });
    const leak = [p(0, 10, 100), p(100, 20, 200), p(200, 21, 210), p(300, 22, 200 + 65 * 2 ** 20)];
    const v = soakVerdict(leak, 300, DEFAULT_SOAK_BOUNDS);
    expect(v.passed).toBe(false);
    expect(v.failures.join('; ')).toMatch(/tensors grew by 2 after step 100.*RSS grew by 65\.0 MiB/);
  });
});
