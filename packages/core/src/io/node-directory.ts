import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors';
import { checkpointError, modelArtifacts, parseModelJson, weightBuffer } from './manifest';

/** Default shard size, as tfjs's converter writes (4 MiB). */
const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface NodeDirectoryOptions {
  /** Largest weight file written (default 4 MiB). */
  shardBytes?: number;
  /** Test hook: runs after the shards are written and before model.json is replaced. */
  beforeCommit?: () => void | Promise<void>;
}

// Node modules are imported lazily so that the browser build of @elbo/core never needs them.
async function nodeModules() {
  const [fs, path, crypto] = await Promise.all([import('node:fs/promises'), import('node:path'), import('node:crypto')]);
  return { fs, path, crypto };
}

/**
 * A tf.io.IOHandler for a directory on disk: `model.json` plus
 * `weights-<id>.shardNofM.bin` files.
 *
 * Writes are atomic: every file is written under a temporary name, flushed
 * and renamed; model.json is replaced last, so until that rename the previous
 * checkpoint (whose shards have different names) stays the one a load sees.
 * Shards no longer referenced are deleted after the commit.
 *
 * Loads refuse (with a CheckpointError, before reading any weights) manifest
 * paths that leave the directory, and weight files shorter or longer than
 * the manifest says.
 */
export class NodeDirectoryHandler implements tf.io.IOHandler {
  constructor(
    readonly dir: string,
    readonly options: NodeDirectoryOptions = {},
  ) {
    if (typeof dir !== 'string' || dir.length === 0) throw new Error(`NodeDirectoryHandler: dir must be a non-empty path, got ${JSON.stringify(dir)}`);
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const { fs, path, crypto } = await nodeModules();
    const dir = path.resolve(this.dir);
    await fs.mkdir(dir, { recursive: true });
    const data = new Uint8Array(weightBuffer(artifacts.weightData));
    const shardBytes = this.options.shardBytes ?? DEFAULT_SHARD_BYTES;
    const n = Math.max(1, Math.ceil(data.byteLength / shardBytes));
    const id = `${Date.now().toString(36)}${crypto.randomBytes(4).toString('hex')}`;
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `weights-${id}.shard${i + 1}of${n}.bin`;
      await writeAtomic(fs, path.join(dir, name), data.subarray(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes)));
      paths.push(name);
    }
    const modelJson: tf.io.ModelJSON = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: (artifacts.modelTopology as {} | undefined) ?? null,
      weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    } as tf.io.ModelJSON;
    const text = JSON.stringify(modelJson);
    await this.options.beforeCommit?.();
    await writeAtomic(fs, path.join(dir, 'model.json'), new TextEncoder().encode(text));
    await syncDir(fs, dir);
    // Only after the commit: shards of earlier saves and temporaries of crashed ones.
    for (const f of await fs.readdir(dir)) {
      if ((/^weights-.*\.bin$/.test(f) && !paths.includes(f)) || /\.elbo-tmp$/.test(f)) await fs.rm(path.join(dir, f), { force: true });
    }
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: 0,
        weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
        weightDataBytes: data.byteLength,
      },
    };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const { fs, path } = await nodeModules();
    const dir = path.resolve(this.dir);
    const manifestFile = path.join(dir, 'model.json');
    const src = { where: `checkpoint ${dir}`, file: manifestFile };
    let text: string;
    try {
      // A FIFO or device named model.json would block or never end: only regular files are read.
      if (!(await fs.lstat(manifestFile)).isFile()) throw checkpointError(src, 'model.json is not a regular file');
      text = await fs.readFile(manifestFile, 'utf8');
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw checkpointError(src, `cannot read model.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const json = parseModelJson(text, src);
    let realDir: string;
    try {
      realDir = await fs.realpath(dir);
    } catch (e) {
      throw checkpointError(src, `cannot resolve the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const files: string[][] = [];
    // Check every path and size before reading anything.
    for (const [i, group] of json.groups.entries()) {
      let total = 0;
      for (const [j, p] of group.paths.entries()) {
        const field = `weightsManifest[${i}].paths[${j}]`;
        const file = path.resolve(dir, p);
        let st;
        try {
          st = await fs.lstat(file);
        } catch {
          throw checkpointError(src, `weight file ${p} is missing`, field, file);
        }
        if (!st.isFile()) throw checkpointError(src, `weight file ${p} is not a regular file`, field, file);
        // A directory on the way may be a link to elsewhere: the real path must stay inside.
        const rel = path.relative(realDir, await fs.realpath(file));
        if (rel.startsWith('..') || path.isAbsolute(rel)) throw checkpointError(src, `weight path ${JSON.stringify(p)} leaves the checkpoint directory`, field, file);
        total += st.size;
      }
      const names = group.paths.join(', ');
      const field = `weightsManifest[${i}]`;
      const first = path.resolve(dir, group.paths[0] ?? 'model.json');
      if (total < group.bytes) throw checkpointError(src, `weight files ${names} are truncated: ${total} bytes, the manifest needs ${group.bytes}`, field, first);
      if (total > group.bytes) throw checkpointError(src, `weight files ${names} are oversized: ${total} bytes, the manifest needs ${group.bytes}`, field, first);
      files.push(group.paths);
    }
    const buffers: ArrayBuffer[] = [];
    for (const [i, group] of files.entries()) {
      let total = 0;
      for (const p of group) {
        const file = path.resolve(dir, p);
        const b = await fs.readFile(file);
        total += b.byteLength;
        buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      }
      // The files changed between the size check and the read.
      if (total !== json.groups[i].bytes) throw checkpointError(src, `weight files ${group.join(', ')} changed while being read`, `weightsManifest[${i}]`);
    }
    return modelArtifacts(json, tf.io.concatenateArrayBuffers(buffers));
  }
}

type Fs = typeof import('node:fs/promises');

/** Write to `<file>.<rand>.elbo-tmp`, flush to disk, rename over `file`. */
async function writeAtomic(fs: Fs, file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.floor(Math.random() * 1e9).toString(36)}.elbo-tmp`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

async function syncDir(fs: Fs, dir: string): Promise<void> {
  // Makes the renames durable; not every platform can open a directory (Windows), which is fine.
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* best effort */
  }
}
