/** Exit statuses of `blk`, documented in the README. */
export const EXIT = Object.freeze({
  /** Done. For `serve` and `xenstored`, also a clean stop on SIGINT/SIGTERM. */
  OK: 0,
  /** The work failed: an I/O error, a device or peer refusing, a port in use. */
  FAILURE: 1,
  /** Bad command line: unknown option, bad SPEC or SIZE, wrong number of arguments. */
  USAGE: 2,
  /** A copy or mirror stopped by SIGINT before it finished (128 + 2). */
  INTERRUPTED: 130,
  /** A copy or mirror stopped by SIGTERM before it finished (128 + 15). */
  TERMINATED: 143,
  /** Standard output was closed by its reader (`blk … | head -1`): what SIGPIPE gives (128 + 13). */
  BROKEN_PIPE: 141,
});

/** An error `blk` reports as one line `blk: message` and turns into an exit status. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A mistake on the command line: exit status 2, with a pointer to `--help`. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';

  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError;
}
