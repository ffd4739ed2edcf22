import type { ProgressStream } from './progress-bar.js';

/** What a command may touch besides the process: its output streams and environment. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: ProgressStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** One `blk` subcommand. `run` resolves to the exit status; failures throw CliError. */
export interface Command {
  readonly name: string;
  /** One line for `blk --help`. */
  readonly summary: string;
  /** The whole `blk NAME --help` text. */
  readonly usage: string;
  run(args: readonly string[], io: Io): Promise<number>;
}
