import type * as tf from '@tensorflow/tfjs-core';
import { type CheckpointSource, checkpointError, modelArtifacts, parseModelJson } from './manifest';
import { MAX_MODEL_PARAMETERS } from './model-size';

export interface HttpCheckpointOptions {
  /** Give up on a request (headers or body) after this many milliseconds; default 120,000. */
  timeoutMs?: number;
  /**
   * Most weight bytes a manifest may declare, in bytes; default 3 GiB (the
   * weights and two optimizer slots of the largest model a config may
   * describe). A response body is not a file whose size can be checked first,
   * so the manifest's total is bounded before any shard is fetched.
   */
  maxWeightBytes?: number;
  /** Largest model.json accepted, in bytes; default 64 MiB. */
  maxManifestBytes?: number;
  /** Passed to every fetch (headers, credentials). */
  requestInit?: RequestInit;
}

/**
 * Loads an elbo save from `http(s)://.../model.json` with checks tfjs's own
 * http handler does not make: every manifest path must name a file next to
 * model.json (no `..`, no other host), each shard group is read only up to
 * the bytes the manifest declares (a longer body is refused without being
 * buffered), and every request has a time limit. Errors are CheckpointErrors
 * naming the URL.
 */
export class HttpCheckpointHandler implements tf.io.IOHandler {
  constructor(
    readonly url: string,
    readonly options: HttpCheckpointOptions = {},
  ) {}

  async load(): Promise<tf.io.ModelArtifacts> {
    const src: CheckpointSource = { where: `checkpoint ${this.url}`, file: this.url };
    const json = parseModelJson(new TextDecoder().decode(await this.fetchBytes(this.url, this.options.maxManifestBytes ?? 64 * 1024 * 1024, src, 'model.json')), src);
    const declared = json.groups.reduce((s, g) => s + g.bytes, 0);
    const maxWeightBytes = this.options.maxWeightBytes ?? 3 * 4 * MAX_MODEL_PARAMETERS;
    if (declared > maxWeightBytes) {
      throw checkpointError(src, `the manifest declares ${declared} bytes of weights, more than the ${maxWeightBytes} allowed (HttpCheckpointOptions.maxWeightBytes)`, 'weightsManifest');
    }
    const buffers: Uint8Array[] = [];
    for (const [i, group] of json.groups.entries()) {
      let left = group.bytes;
      for (const [j, p] of group.paths.entries()) {
        const url = new URL(p, this.url).href;
        const bytes = await this.fetchBytes(url, left, src, `weightsManifest[${i}].paths[${j}]`);
        left -= bytes.byteLength;
        buffers.push(bytes);
      }
      if (left > 0) throw checkpointError(src, `weight files ${group.paths.join(', ')} are truncated: ${group.bytes - left} bytes, the manifest needs ${group.bytes}`, `weightsManifest[${i}]`);
    }
    const total = buffers.reduce((s, b) => s + b.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const b of buffers) {
      data.set(b, at);
      at += b.byteLength;
    }
    return modelArtifacts(json, data.buffer);
  }

  /** GET `url`, refusing a body longer than `limit` bytes before buffering it. */
  private async fetchBytes(url: string, limit: number, src: CheckpointSource, field: string): Promise<Uint8Array> {
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const fail = (what: string) => checkpointError(src, `${url}: ${what}`, field, url);
    try {
      let response: Response;
      try {
        response = await fetch(url, { ...this.options.requestInit, signal: controller.signal, redirect: 'error' });
      } catch (e) {
        throw fail(controller.signal.aborted ? `no response within ${timeoutMs} ms` : `request failed (${(e as Error).message})`);
      }
      if (!response.ok) throw fail(`HTTP ${response.status} ${response.statusText}`.trim());
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > limit) {
        await response.body?.cancel();
        throw fail(`oversized: ${declared} bytes, the manifest allows ${limit}`);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      try {
        const reader = response.body?.getReader();
        if (reader) {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            total += value.byteLength;
            if (total > limit) {
              await reader.cancel();
              throw fail(`oversized: more than the ${limit} bytes the manifest allows`);
            }
            chunks.push(value);
          }
        }
      } catch (e) {
        if ((e as Error).name === 'CheckpointError') throw e;
        throw fail(controller.signal.aborted ? `body not complete within ${timeoutMs} ms` : `reading the body failed (${(e as Error).message})`);
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out;
    } finally {
      clearTimeout(timer);
    }
  }
}
