import { readFileSync } from 'node:fs';
import { isBlockError, thrownMessage } from '@blk/core';
import { EXIT, isCliError, UsageError } from './cli-error.js';
import type { Command, Io } from './command.js';
import { benchCommand } from './commands/bench.js';
import { copyCommand } from './commands/copy.js';
import { infoCommand } from './commands/info.js';
import { mapCommand } from './commands/map.js';
import { mirrorCommand } from './commands/mirror.js';
import { serveCommand } from './commands/serve.js';
import { xenstoredCommand } from './commands/xenstored.js';
import { describeError } from './describe-error.js';
import { SPEC_HELP } from './spec-help.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  copyCommand,
  mirrorCommand,
  infoCommand,
  mapCommand,
  xenstoredCommand,
  benchCommand,
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function generalUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: blk COMMAND [ARGS…]

Commands:
${list}

${SPEC_HELP}
Run 'blk COMMAND --help' for a command's options, 'blk --version' for the version.
`;
}

/** True when -h/--help comes before any `--` terminator. */
function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '-h' || arg === '--help') return true;
  }
  return false;
}

/**
 * Runs `blk` with `argv` (without node and the script) and resolves to the exit status. Errors are
 * reported on `io.stderr` as one line starting `blk:`; nothing is thrown.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (name === undefined) {
      io.stderr.write(generalUsage());
      return EXIT.USAGE;
    }
    if (name === '-h' || name === '--help') {
      io.stdout.write(generalUsage());
      return EXIT.OK;
    }
    if (name === '-V' || name === '--version') {
      io.stdout.write(`${version()}\n`);
      return EXIT.OK;
    }
    if (name === 'help') {
      const topic = rest[0];
      const target = COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && !target) throw new UsageError(`help: unknown command '${topic}'`);
      io.stdout.write(target ? target.usage : generalUsage());
      return EXIT.OK;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    if (wantsHelp(rest)) {
      io.stdout.write(command.usage);
      return EXIT.OK;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (isCliError(error)) {
      io.stderr.write(`blk: ${error.message}\n`);
      if (error.exitCode === EXIT.USAGE) io.stderr.write(`Run 'blk ${command ? `${command.name} ` : ''}--help' for usage.\n`);
      return error.exitCode;
    }
    const where = command ? `${command.name}: ` : '';
    if (isBlockError(error)) {
      io.stderr.write(`blk: ${where}${describeError(error)}\n`);
      return EXIT.FAILURE;
    }
    io.stderr.write(`blk: ${where}unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : thrownMessage(error)}\n`);
    return EXIT.FAILURE;
  }
}
