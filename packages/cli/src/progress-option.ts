import { UsageError } from './cli-error.js';
import type { Io } from './command.js';
import { ProgressBar, type ProgressMode } from './progress-bar.js';

const MODES = ['auto', 'bar', 'lines', 'none'] as const;

/** The `--progress MODE` / `--quiet` pair shared by copy and mirror. */
export function progressMode(command: string, text: string | undefined, quiet: boolean | undefined): ProgressMode | undefined {
  if (quiet === true) return 'none';
  if (text === undefined || text === 'auto') return undefined;
  if (!(MODES as readonly string[]).includes(text)) {
    throw new UsageError(`${command}: bad --progress '${text}': expected ${MODES.join(', ')}`);
  }
  return text as ProgressMode;
}

/** A progress bar on stderr: redrawn on a terminal, plain lines otherwise, unless `mode` says. */
export function progressOn(io: Io, label: string, mode: ProgressMode | undefined): ProgressBar {
  return new ProgressBar({ label, stream: io.stderr, mode });
}
