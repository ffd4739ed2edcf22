import { createServer, type Server } from '@blk/xenstore';
import { CliError, EXIT, UsageError } from '../cli-error.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandLine } from '../command-line.js';
import { describeError } from '../describe-error.js';
import { shellQuote } from '../shell-quote.js';
import { catchStopSignals } from '../stop-signals.js';
import { claimSocketPath } from '../unix-socket.js';

export const xenstoredCommand: Command = {
  name: 'xenstored',
  summary: 'run a xenstore server on a Unix socket',
  usage: `Usage: blk xenstored --socket PATH [--persist FILE] [--verbose]

Runs @blk/xenstore's xenstored on a Unix socket until SIGINT or SIGTERM. Connections on the
socket are dom0 (privileged), as with C xenstored's socket. Debian's xenstore-* tools reach it
through XENSTORED_PATH. A stale socket file nobody listens on is replaced; a live one is not.

Options:
  --socket PATH   the Unix socket to listen on (required)
  --persist FILE  keep the tree in FILE: loaded at start, saved before each reply that changed it
  --verbose       print the server's diagnostics (dropped connections, save failures) on stderr
  -h, --help      this text

Example:
  blk xenstored --socket /tmp/xs.sock &
  XENSTORED_PATH=/tmp/xs.sock xenstore-write /vm/name demo
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('xenstored', {
      args: [...args],
      options: { socket: { type: 'string' }, persist: { type: 'string' }, verbose: { type: 'boolean' } },
      allowPositionals: true,
    });
    expectPositionals('xenstored', positionals, []);
    const path = values.socket;
    if (path === undefined || path === '') throw new UsageError('xenstored: --socket PATH is required');
    const stop = catchStopSignals();
    try {
      await claimSocketPath(path).catch((error: unknown) => {
        throw new CliError(`xenstored: ${(error as Error).message}`);
      });
      let server: Server | undefined;
      try {
        server = createServer({
          persist: values.persist,
          ...(values.verbose === true ? { log: (message: string) => io.stderr.write(`blk xenstored: ${message}\n`) } : {}),
        });
        await server.listen(path);
      } catch (error) {
        await server?.close().catch(() => undefined);
        throw new CliError(`xenstored: cannot listen on ${path}: ${describeError(error)}`, EXIT.FAILURE, { cause: error });
      }
      io.stdout.write(`xenstored listening on ${path}\nTry: XENSTORED_PATH=${shellQuote(path)} xenstore-ls /\n`);
      const name = await stop.stopped;
      await server.close();
      io.stderr.write(`blk xenstored: stopped by ${name}\n`);
      return EXIT.OK;
    } finally {
      stop.dispose();
    }
  },
};
