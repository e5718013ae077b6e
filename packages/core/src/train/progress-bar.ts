/** Where progress goes: process.stderr in Node, or anything with write(). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** process.stderr in Node; elsewhere the console, a line at a time. */
export function defaultProgressStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return proc?.stderr ?? { write: (s: string) => console.log(s.trimEnd()) };
}

/** `[=====>    ]` for a fraction done, `width` characters between the brackets. */
export function renderBar(fraction: number, width: number): string {
  const frac = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(frac * width);
  return `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}]`;
}

/** A duration for an ETA: `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12.3`, `1,234`: a rate with sensible digits. */
function formatRate(v: number): string {
  if (!Number.isFinite(v)) return '?';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3);
}

export interface ProgressBarOptions {
  stream?: ProgressStream;
  /** What is counted, for the rate (`samples/s`). Default 'items'. */
  unit?: string;
  /** Without a terminal: a plain line at most this often (seconds; default 15), and one at the end. */
  lineEverySeconds?: number;
  /** False: say nothing (e.g. --no-progress). */
  enabled?: boolean;
}

/**
 * Progress of long work: on a terminal a bar redrawn in place with the count,
 * the rate and the ETA (`label [====>   ] 120/500  41.2 samples/s  eta 9s`);
 * otherwise (CI logs, files) a plain line now and then and one at the end.
 * The trainer's progress callback and the bench's evaluations (importance-
 * sampled NLL, FID, suites) all draw with it.
 */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly every: number;
  private readonly enabled: boolean;
  private start = Date.now();
  private lastDraw = 0;
  private lastLine = Date.now();
  private done = 0;

  constructor(
    private label: string,
    private total: number,
    options: ProgressBarOptions = {},
  ) {
    this.stream = options.stream ?? defaultProgressStream();
    this.tty = this.stream.isTTY === true;
    this.unit = options.unit ?? 'items';
    this.every = (options.lineEverySeconds ?? 15) * 1000;
    this.enabled = options.enabled ?? true;
  }

  /** Start again (a new epoch): new label and total, clock reset. */
  reset(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.start = Date.now();
    this.lastLine = this.start;
    this.lastDraw = 0;
    this.done = 0;
  }

  /** The line as drawn now: label, bar, count, rate, ETA and an optional note (e.g. the latest loss). */
  line(note?: string): string {
    const secs = (Date.now() - this.start) / 1000;
    const frac = this.total > 0 ? this.done / this.total : 0;
    const rate = secs > 0 ? this.done / secs : Number.NaN;
    const eta = frac > 0 ? secs * (1 / frac - 1) : Number.NaN;
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70));
    return `${this.label} ${renderBar(frac, width)} ${this.done}/${this.total}  ${formatRate(rate)} ${this.unit}/s  eta ${formatDuration(eta)}${note ? `  ${note}` : ''}`;
  }

  /** `done` of `total` finished; redraws at most every 100 ms (terminal) or every lineEverySeconds (plain lines). */
  update(done: number, note?: string): void {
    this.done = done;
    if (!this.enabled) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r\x1b[2K${this.line(note)}`);
    } else if (now - this.lastLine >= this.every && done < this.total) {
      this.lastLine = now;
      this.stream.write(`${this.line(note)}\n`);
    }
  }

  /** Replace the bar with a final line (default: the bar's own line at 100%, with the time taken). */
  finish(line?: string): void {
    if (!this.enabled) return;
    const text = line ?? `${this.label}: ${this.done}/${this.total} in ${formatDuration((Date.now() - this.start) / 1000)}`;
    this.stream.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  /** Clear the bar (terminal) so another line can be written cleanly. */
  clear(): void {
    if (this.enabled && this.tty) this.stream.write('\r\x1b[2K');
  }
}
