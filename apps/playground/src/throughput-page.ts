import { isPlaygroundBackend, switchBackend } from './backends';
import { measureBrowserThroughput, type ThroughputModel } from './throughput';

// Driven by scripts/browser-throughput.mjs (`pnpm bench throughput --browser`): the result lands in
// window.elboThroughput and body[data-state] turns 'done' (or 'error' with body[data-error]).
async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const backend = q.get('backend') ?? 'webgl';
  if (!isPlaygroundBackend(backend)) throw new Error(`backend must be webgpu, webgl, wasm or cpu, got ${JSON.stringify(backend)}`);
  const int = (key: string, fallback: number) => {
    const raw = q.get(key);
    const v = raw === null ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return v;
  };
  await switchBackend(backend);
  const result = await measureBrowserThroughput({ model: (q.get('model') ?? 'mlp') as ThroughputModel, steps: int('steps', 20), warmup: int('warmup', 3) });
  (window as unknown as { elboThroughput: unknown }).elboThroughput = { ...result, userAgent: navigator.userAgent };
  document.getElementById('result')!.textContent = JSON.stringify(result, null, 2);
  document.body.dataset.state = 'done';
}

main().catch((e) => {
  document.getElementById('result')!.textContent = String(e);
  document.body.dataset.error = e instanceof Error ? e.message : String(e);
  document.body.dataset.state = 'error';
});
