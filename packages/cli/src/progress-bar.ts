import { formatDuration } from './duration.js';
import { formatBytes } from './size.js';

/** Where progress goes: usually `process.stderr`. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** `bar` redraws one line in place (a terminal), `lines` prints a line every 10 %, `none` is silent. */
export type ProgressMode = 'bar' | 'lines' | 'none';

export interface ProgressOptions {
  /** The word in front: `copy`, `mirror`. */
  readonly label: string;
  readonly stream: ProgressStream;
  /** Default: `bar` when the stream is a terminal, else `lines`. */
  readonly mode?: ProgressMode | undefined;
  /** Clock in milliseconds (tests pass their own). */
  readonly now?: () => number;
  /** Least time between two redraws of the bar. Default 100 ms. */
  readonly redrawMs?: number;
}

const LINE_STEP_PERCENT = 10;

/**
 * Shows how far a job is: bytes done of the total, the rate since the start and the time left.
 * On a terminal one line is redrawn in place; elsewhere (a pipe, a log file) a plain line is
 * printed at every 10 % so logs stay readable.
 */
export class ProgressBar {
  readonly mode: ProgressMode;
  readonly #label: string;
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #redrawMs: number;
  readonly #start: number;
  #done = 0;
  #total = 0;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #drawnWidth = 0;
  #lastStep = -1;
  #ended = false;

  constructor(options: ProgressOptions) {
    this.#label = options.label;
    this.#stream = options.stream;
    this.mode = options.mode ?? (options.stream.isTTY === true ? 'bar' : 'lines');
    this.#now = options.now ?? (() => performance.now());
    this.#redrawMs = options.redrawMs ?? 100;
    this.#start = this.#now();
  }

  /** Records progress; draws when it is time to. */
  update(done: number, total: number): void {
    if (this.#ended) return;
    this.#done = done;
    this.#total = total;
    if (this.mode === 'bar') {
      const now = this.#now();
      if (now - this.#lastDraw >= this.#redrawMs) {
        this.#lastDraw = now;
        this.#drawBar();
      }
    } else if (this.mode === 'lines') {
      const step = Math.floor(this.#percent() / LINE_STEP_PERCENT);
      if (step > this.#lastStep && step > 0) {
        this.#lastStep = step;
        this.#stream.write(`${this.#label}: ${this.#summary()}\n`);
      }
    }
  }

  /** The job is complete: shows 100 % (the final state) and ends the line. */
  finish(): void {
    if (this.#ended) return;
    this.#done = this.#total;
    if (this.mode === 'bar') {
      this.#drawBar();
      this.#stream.write('\n');
    } else if (this.mode === 'lines' && this.#lastStep < 100 / LINE_STEP_PERCENT) {
      this.#stream.write(`${this.#label}: ${this.#summary()}\n`);
    }
    this.#ended = true;
  }

  /** The job stopped short: leaves the last state on screen and ends the line. */
  abandon(): void {
    if (this.#ended) return;
    if (this.mode === 'bar' && this.#drawnWidth > 0) {
      this.#drawBar();
      this.#stream.write('\n');
    }
    this.#ended = true;
  }

  /** Seconds since the bar was made. */
  elapsedSeconds(): number {
    return (this.#now() - this.#start) / 1000;
  }

  #percent(): number {
    return this.#total > 0 ? (100 * this.#done) / this.#total : 100;
  }

  #summary(): string {
    const seconds = this.elapsedSeconds();
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const left = this.#total - this.#done;
    const eta = left === 0 ? '0s' : rate > 0 ? formatDuration(left / rate) : '--';
    const percent = `${this.#percent().toFixed(this.mode === 'bar' ? 1 : 0)}%`;
    return `${percent}  ${formatBytes(this.#done)} / ${formatBytes(this.#total)}  ${formatBytes(rate)}/s  ETA ${eta}`;
  }

  #drawBar(): void {
    const width = this.#stream.columns ?? 0;
    const columns = Math.max(40, (width > 0 ? width : 80) - 1);
    const text = this.#summary();
    const barWidth = Math.max(10, Math.min(40, columns - text.length - this.#label.length - 5));
    const filled = Math.min(barWidth, Math.floor((barWidth * this.#percent()) / 100));
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
    const line = `${this.#label} ${bar} ${text}`.slice(0, columns);
    // \r back to the start, the new line, then erase whatever the longer old line left behind.
    this.#stream.write(`\r${line}\x1b[K`);
    this.#drawnWidth = line.length;
  }
}
