import { CheckpointError, type GenerativeModel, InputError, loadModel } from '@elbo/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelCard, PretrainedFile } from './card';
import catalog from './catalog.json';
import { sha256Hex } from './sha256';
import { fromStored, storedByteLength } from './weights';

const CARDS = catalog as unknown as ModelCard[];

/** The cards of every pretrained model, in catalog order (copies: changing them changes nothing). */
export function listPretrained(): ModelCard[] {
  return structuredClone(CARDS);
}

/** Names loadPretrained accepts. */
export function pretrainedNames(): string[] {
  return CARDS.map((c) => c.name);
}

/** The card of one pretrained model; unknown names get an InputError listing the known ones. */
export function pretrainedCard(name: string): ModelCard {
  const card = CARDS.find((c) => c.name === name);
  if (!card) {
    throw new InputError(`unknown pretrained model ${JSON.stringify(name)} (known: ${pretrainedNames().join(', ') || 'none'})`, { field: 'name' });
  }
  return structuredClone(card);
}

export interface LoadPretrainedOptions {
  /**
   * Where the models' folders are served: `${baseUrl}/${name}/model.json`, ... (a browser passes
   * the URL its page serves the package's `models/` folder at, e.g. '/zoo' or
   * 'https://example.org/assets/zoo'). Default in Node: the package's own `models/` folder.
   */
  baseUrl?: string;
  /** The fetch to use with `baseUrl` (default: the global fetch). */
  fetch?: typeof fetch;
}

type Reader = (file: PretrainedFile) => Promise<{ bytes: Uint8Array; where: string }>;

function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

function urlReader(name: string, baseUrl: string, fetchImpl: typeof fetch): Reader {
  const base = baseUrl.replace(/\/+$/, '');
  return async (file) => {
    const where = `${base}/${name}/${file.path}`;
    let response: Response;
    try {
      response = await fetchImpl(where);
    } catch (e) {
      throw new CheckpointError(`pretrained model "${name}": cannot fetch ${file.path} (${(e as Error).message})`, { file: where });
    }
    if (!response.ok) throw new CheckpointError(`pretrained model "${name}": fetching ${file.path} gave HTTP ${response.status}`, { file: where });
    return { bytes: new Uint8Array(await response.arrayBuffer()), where };
  };
}

function packageReader(name: string): Reader {
  return async (file) => {
    const [{ readFile }, { fileURLToPath }] = await Promise.all([import('node:fs/promises'), import('node:url')]);
    const where = fileURLToPath(new URL(`../models/${name}/${file.path}`, import.meta.url));
    try {
      const b = await readFile(where);
      return { bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), where };
    } catch (e) {
      throw new CheckpointError(`pretrained model "${name}": cannot read ${file.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: where });
    }
  };
}

/** Read one file and check its length and SHA-256 against the card; a mismatch is a CheckpointError naming the file. */
async function readChecked(name: string, file: PretrainedFile, read: Reader): Promise<Uint8Array> {
  const { bytes, where } = await read(file);
  if (bytes.byteLength !== file.bytes) {
    throw new CheckpointError(`pretrained model "${name}": ${file.path} has ${bytes.byteLength} bytes, the card says ${file.bytes} (truncated or wrong file)`, { file: where });
  }
  const sum = await sha256Hex(bytes);
  if (sum !== file.sha256) {
    throw new CheckpointError(`pretrained model "${name}": ${file.path} has SHA-256 ${sum}, the card says ${file.sha256} (corrupted or wrong file)`, { file: where });
  }
  return bytes;
}

/**
 * Load a pretrained model by name (see `listPretrained()` for the names and their cards).
 * Every file's size and SHA-256 are checked against the card before anything is created; a
 * corrupted, truncated or wrong file is a `CheckpointError` naming the file, and no model exists
 * afterwards. In Node the files come from this package; in a browser pass `{ baseUrl }`, the URL
 * where the package's `models/` folder is served (fetched on the page's origin or any allowed one).
 *
 * @example const vae = await loadPretrained('vae-mnist'); const x = vae.sample(16); // [16, 784]
 */
export async function loadPretrained(name: string, options: LoadPretrainedOptions = {}): Promise<GenerativeModel> {
  const card = pretrainedCard(name);
  let read: Reader;
  if (options.baseUrl !== undefined) {
    const f = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new InputError('loadPretrained: no fetch available for baseUrl; pass options.fetch', { field: 'fetch' });
    read = urlReader(name, options.baseUrl, f);
  } else if (isNode()) {
    read = packageReader(name);
  } else {
    throw new InputError(`loadPretrained("${name}"): in a browser pass { baseUrl }, the URL where @elbo/zoo's models/ folder is served`, { field: 'baseUrl' });
  }
  const files = new Map<string, Uint8Array>();
  for (const file of card.files) files.set(file.path, await readChecked(name, file, read));
  const manifestBytes = files.get('model.json');
  const weightBytes = files.get('weights.bin');
  if (!manifestBytes || !weightBytes) throw new CheckpointError(`pretrained model "${name}": the card lists no model.json or weights.bin`, { file: `${name}/card.json` });
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes)) as tf.io.ModelJSON;
  } catch (e) {
    throw new CheckpointError(`pretrained model "${name}": model.json is not valid JSON (${(e as Error).message})`, { file: `${name}/model.json` });
  }
  const specs = json.weightsManifest?.[0]?.weights ?? [];
  const expected = storedByteLength(specs, card.weightsDtype);
  if (expected !== weightBytes.byteLength) {
    throw new CheckpointError(`pretrained model "${name}": weights.bin has ${weightBytes.byteLength} bytes, its manifest needs ${expected} as ${card.weightsDtype}`, { file: `${name}/weights.bin` });
  }
  const artifacts: tf.io.ModelArtifacts = {
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? null,
    modelTopology: null as unknown as {},
    weightSpecs: specs,
    weightData: fromStored(specs, weightBytes, card.weightsDtype),
    ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
  };
  // core's loadModel checks the config and every variable's name, shape and dtype again.
  const model = await loadModel({ load: async () => artifacts });
  model.eval();
  return model;
}
