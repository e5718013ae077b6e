import type { BackendChoice } from '@elbo/core';

/** Where a user error is and how to fix it, for the one-line report. */
export interface UsageErrorDetails {
  /** The flag, file or field at fault, e.g. `--epochs` or a path. */
  where?: string;
  /** What to do about it. */
  fix?: string;
}

/**
 * A user error (bad flag, unknown suite/variant/backend, missing file): the
 * CLI prints one line, `elbo-bench: <what>, <where>, <how to fix>`, and exits with 2.
 */
export class UsageError extends Error {
  readonly where?: string;
  readonly fix?: string;

  constructor(message: string, details: UsageErrorDetails = {}) {
    super(message);
    this.name = 'UsageError';
    if (details.where !== undefined) this.where = details.where;
    if (details.fix !== undefined) this.fix = details.fix;
  }
}

let verbose = false;

/** `--verbose`: stack traces for user errors and the reasons behind the backend choice. */
export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
}

/** `backend: native`, with the skipped backends and their reasons only under --verbose. */
export function backendLine(choice: BackendChoice): string {
  if (!verbose) return `backend: ${choice.name}`;
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return [`backend: ${choice.name}`, choice.reason ? ` (${choice.reason})` : '', skipped ? ` [skipped ${skipped}]` : ''].join('');
}

/** What the CLI knows about the command line, to say where an error from deeper down came from. */
export interface ErrorContext {
  /** The --config file, if one was given. */
  config?: string;
  /** The --model directory, if one was given. */
  model?: string;
  /** The --mnist-dir folder, if one was given. */
  mnistDir?: string;
}

/** The names of core's input errors (InputError and its subclasses) and of the loaders' own. */
const CONFIG_ERRORS = new Set(['ConfigError']);
const CHECKPOINT_ERRORS = new Set(['CheckpointError']);
const DATA_ERRORS = new Set(['DataFormatError', 'IdxFormatError', 'PngFormatError', 'CsvFormatError']);

function errorChain(e: Error): string[] {
  // A subclass of InputError whose name is new here still counts: walk the prototype chain's constructor names.
  const names = [e.name];
  for (let p = Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) names.push(p.constructor?.name);
  return names;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/\s+/g, ' ').trim().replace(/[.;,]$/, '');

function join(what: string, where: string | undefined, fix: string | undefined): string {
  const parts = [oneLine(what)];
  // The where part is left out when the message names it already.
  if (where && !what.includes(where)) parts.push(where);
  if (fix && !what.includes(fix)) parts.push(fix);
  return `elbo-bench: ${parts.join(', ')}`;
}

/**
 * The one-line report of an error caused by the user's input, or undefined for
 * an internal error (a bug). Recognises UsageError, core's InputError family
 * (ConfigError, CheckpointError, DataFormatError) by class name, the dataset
 * loaders' format errors, missing files (ENOENT), and unknown backends.
 */
export function userErrorLine(e: unknown, ctx: ErrorContext = {}): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const names = errorChain(e);
  const has = (set: Set<string>) => names.some((n) => set.has(n));
  const detail = e as Error & { file?: string; field?: string; source?: string; code?: string; path?: string };
  if (e instanceof UsageError) return join(e.message, e.where, e.fix ?? (e.message.includes('elbo-bench --help') ? undefined : 'see elbo-bench --help'));
  // "in <file>" unless the message names the file already.
  const at = (file: string | undefined) => (file && !e.message.includes(file) ? `in ${file}` : undefined);
  if (has(CONFIG_ERRORS)) {
    return join(e.message, at(detail.file ?? ctx.config), 'fix that field of the config (each variant lists its fields in its README)');
  }
  if (has(CHECKPOINT_ERRORS)) {
    return join(e.message, at(detail.file ?? ctx.model), 'point --model at a directory written by elbo (runs/<name>/model) or save the model again');
  }
  if (has(DATA_ERRORS) || names.includes('InputError')) {
    const file = detail.file ?? detail.source;
    const idx = /IDX|-ubyte/.test(`${file ?? ''} ${e.message}`);
    return join(e.message, at(file), idx ? 'replace the file with an intact copy (MNIST: --mnist-dir a folder holding the four IDX files, .gz or not)' : 'fix or replace that file');
  }
  // The data loaders' messages from before they threw DataFormatError (an older @elbo/datasets).
  if (/is not a readable PNG|labels CSV .* (cannot be read|is malformed|has no rows|needs a header|row \d+ has an empty)/.test(e.message)) {
    return join(e.message, undefined, 'fix or replace that file');
  }
  if (/is not a readable folder|no \.png files in|neither \S+ nor \S+\.gz is in/.test(e.message)) {
    return join(e.message, undefined, 'check the folder (MNIST: --mnist-dir a folder holding the four IDX files, .gz or not)');
  }
  if (detail.code === 'ENOENT' || detail.code === 'EACCES' || detail.code === 'EISDIR' || detail.code === 'ENOTDIR') {
    const path = detail.path ?? '';
    const what = { ENOENT: 'file not found', EACCES: 'permission denied', EISDIR: 'expected a file, found a folder', ENOTDIR: 'not a folder' }[detail.code];
    return join(what, path || undefined, 'check the path');
  }
  const unknown = /^useBackend: (unknown backend "[^"]*") \(use (.*) or a registered backend: (.*)\)/s.exec(e.message);
  if (unknown) return join(unknown[1], 'in --backend', `use ${unknown[2]} (registered now: ${unknown[3]})`);
  const backend = /^useBackend(?:\('auto'\))?: (backend '.*' is unavailable.*|no backend works.*)$/s.exec(e.message);
  if (backend) return join(backend[1], 'in --backend', 'use --backend auto, which picks one that works');
  return undefined;
}

/** The report of an internal error: the message, that it is a bug, and the stack. */
export function internalErrorReport(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error && e.stack ? `\n${e.stack}` : '';
  return `elbo-bench: internal error: ${oneLine(message)} (this is a bug in elbo; please report it with the output below)${stack}`;
}
