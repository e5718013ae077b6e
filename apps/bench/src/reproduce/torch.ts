import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors';

/** The committed PyTorch implementation of the same protocols (apps/bench/scripts). */
export function torchReproduceScript(): string {
  // From src/reproduce (tests) and from dist (the CLI) alike, scripts/ is one level above.
  const here = fileURLToPath(import.meta.url);
  const up = here.includes('/src/reproduce/') ? '../../scripts/torch_reproduce.py' : '../scripts/torch_reproduce.py';
  return fileURLToPath(new URL(up, import.meta.url));
}

/**
 * A python with torch: $ELBO_PYTHON when set (and only it), else Debian's
 * /usr/bin/python3 (where python3-torch installs), else python3 on PATH.
 * Throws a UsageError (exit 2) saying what to install when none has torch.
 */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): { python: string; version: string } {
  const candidates = env.ELBO_PYTHON ? [env.ELBO_PYTHON] : ['/usr/bin/python3', 'python3'];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return { python, version: r.stdout.trim() };
    tried.push(r.error ? `${python} not runnable` : `${python} has no torch/numpy`);
  }
  throw new UsageError(`--reference pytorch needs python3 with torch (${tried.join('; ')}): install it with apt-get install python3-torch (or set ELBO_PYTHON)`);
}

/** glibc allocator settings the reference runs with (fewer page faults for torch's large temporaries). */
export const TORCH_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '1073741824' };

/** One JSON line of torch_reproduce.py. */
export interface TorchLine {
  type: 'start' | 'epoch' | 'curve' | 'result' | 'error';
  [key: string]: unknown;
}

/** Parse the script's stdout: every line that is a JSON object with a `type` (anything else is ignored). */
export function parseTorchLines(text: string): TorchLine[] {
  const out: TorchLine[] = [];
  for (const line of text.split('\n')) {
    const s = line.trim();
    if (!s.startsWith('{')) continue;
    try {
      const v = JSON.parse(s) as TorchLine;
      if (v && typeof v.type === 'string') out.push(v);
    } catch {
      // a partial or foreign line: not one of ours
    }
  }
  return out;
}

/**
 * Run the reference script with these arguments; each JSON line goes to
 * `onLine` as it comes (progress), and all of them are returned. A non-zero
 * exit throws with the script's last stderr lines.
 */
export function runTorchScript(python: string, args: string[], onLine: (line: TorchLine) => void): Promise<TorchLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [torchReproduceScript(), ...args], { env: { ...process.env, ...TORCH_MALLOC_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: TorchLine[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const l of parseTorchLines(parts.join('\n'))) {
        lines.push(l);
        onLine(l);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      for (const l of parseTorchLines(buffer)) {
        lines.push(l);
        onLine(l);
      }
      if (code !== 0) reject(new Error(`torch_reproduce.py exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      else resolve(lines);
    });
  });
}
