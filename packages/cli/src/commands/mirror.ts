import { connect as connectMirror, type Mirror } from '@blk/mirror';
import { CliError, EXIT, UsageError } from '../cli-error.js';
import { clientHints } from '../client-hints.js';
import type { Command, Io } from '../command.js';
import { expectPositionals, parseCommandLine, sizeArgument, specArgument } from '../command-line.js';
import { describeError } from '../describe-error.js';
import { formatDeviceSpec } from '../device-spec.js';
import {
  LISTEN_HELP,
  LISTEN_OPTIONS,
  listenChoice,
  startNbdServer,
  tlsChoice,
  type ListenChoice,
  type RunningServer,
} from '../nbd-listen.js';
import { formatNbdUri } from '../nbd-uri.js';
import type { OpenedDevice } from '../open-device.js';
import { openPair, type OpenedPair } from '../open-pair.js';
import { progressMode, progressOn } from '../progress-option.js';
import { formatBytes } from '../size.js';
import { catchStopSignals, exitCodeFor, type StopSignals } from '../stop-signals.js';

export const mirrorCommand: Command = {
  name: 'mirror',
  summary: 'mirror one device onto another, optionally serving it live over NBD',
  usage: `Usage: blk mirror SRC DST [--rate SIZE] [--chunk SIZE] [--progress MODE | --quiet]
                  [--serve] [--name NAME] [--read-only] [--port N | --socket PATH | --stdio] …

Makes DST (the secondary) an exact mirror of SRC (the primary) with @blk/mirror: a background
copy, sparse-aware, with a progress bar. DST must have SRC's byte length (a file: or fmap: DST
that does not exist is created with it); what DST held is overwritten.

Without --serve, blk exits 0 once DST equals SRC and is flushed.

With --serve (implied by --port, --socket or --stdio) the mirror is exported over NBD at once,
as 'blk serve' would: reads come from SRC, every write goes to both, and no acknowledged write is
lost on DST, so clients keep working while the copy runs. It keeps serving after the sync until
SIGINT or SIGTERM, then finishes requests in flight, flushes both devices and exits 0.

Stopped by SIGINT/SIGTERM before the sync, blk says how far it got, deletes a file it created
for DST, and exits 130 or 143.

Options:
  --rate SIZE             at most SIZE bytes per second for the background copy (e.g. 100M)
  --chunk SIZE            bytes per background request (default 1M)
  --progress MODE         auto (default), bar, lines or none
  -q, --quiet             no progress and no summary
  --serve                 export the mirror over NBD while it runs
  --name NAME             the export name (default: the default export '')
  --read-only             export it read-only (SRC is then opened read-only)
${LISTEN_HELP}
  -h, --help              this text

Examples:
  blk mirror file:old.img file:new.img
  blk mirror nbd://old-host/disk file:/var/lib/disk.img --rate 200M
  blk mirror file:vm.img nbd://backup:10809/vm --serve --socket /run/vm.sock
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('mirror', {
      args: [...args],
      options: {
        ...LISTEN_OPTIONS,
        serve: { type: 'boolean' },
        name: { type: 'string' },
        'read-only': { type: 'boolean', short: 'r' },
        rate: { type: 'string' },
        chunk: { type: 'string' },
        progress: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
      allowPositionals: true,
    });
    const [srcText, dstText] = expectPositionals('mirror', positionals, ['SRC', 'DST']) as [string, string];
    const srcSpec = specArgument('mirror', srcText);
    const dstSpec = specArgument('mirror', dstText);
    const rate = values.rate === undefined ? undefined : sizeArgument('mirror', 'rate', values.rate);
    const chunkBytes = values.chunk === undefined ? undefined : sizeArgument('mirror', 'chunk', values.chunk);
    if (rate === 0) throw new UsageError('mirror: --rate must be more than 0 bytes per second');
    if (chunkBytes === 0) throw new UsageError('mirror: --chunk must be more than 0 bytes');
    const serving =
      values.serve === true ||
      values.port !== undefined ||
      values.socket !== undefined ||
      values.stdio === true ||
      values.host !== undefined;
    if (!serving && (values.name !== undefined || values['read-only'] === true)) {
      throw new UsageError('mirror: --name and --read-only are for --serve');
    }
    const choice = serving ? listenChoice('mirror', values, io.env) : undefined;
    const tls = serving ? await tlsChoice('mirror', values, io.cwd) : undefined;
    if (!serving && (values['tls-psk'] !== undefined || values['tls-certificates'] !== undefined)) {
      throw new UsageError('mirror: TLS options are for --serve');
    }
    const mode = progressMode('mirror', values.progress, values.quiet);
    const quiet = values.quiet === true;
    const exportReadOnly = values['read-only'] === true;

    let pair: OpenedPair | undefined;
    let mirror: Mirror | undefined;
    let running: RunningServer | undefined;
    let synced = false;
    const stop = catchStopSignals();
    try {
      pair = await openPair('mirror', srcSpec, dstSpec, {
        srcReadOnly: !serving || exportReadOnly,
        nothingWas: 'written',
        sizeRefusal: (dstBytes, bytes) =>
          dstBytes !== bytes ? `DST is ${dstBytes} bytes but SRC is ${bytes}; a mirror needs the same size` : undefined,
      });
      const { src, dst, bytes } = pair;

      const bar = progressOn(io, 'mirror', mode);
      try {
        mirror = await connectMirror(src.device, dst.device, {
          chunkBytes,
          throttle: rate === undefined ? undefined : { bytesPerSecond: rate },
          onProgress: (event) => {
            if (event.type === 'percent') bar.update(Math.round((event.percent / 100) * bytes), bytes);
            else if (event.type === 'complete') bar.finish();
            else bar.abandon();
          },
        });
      } catch (error) {
        throw new CliError(`mirror: ${describeError(error)}`, EXIT.FAILURE, { cause: error });
      }
      mirror.synced.catch(() => undefined);
      if (choice !== undefined) {
        running = await startNbdServer(
          'mirror',
          [
            {
              name: values.name ?? '',
              device: mirror,
              description: `mirror of ${formatDeviceSpec(srcSpec)} onto ${formatDeviceSpec(dstSpec)}`,
            },
          ],
          choice,
          tls?.server,
          values.verbose === true ? (message: string) => io.stderr.write(`blk mirror: ${message}\n`) : undefined,
        );
        announce(io, choice, running, values.name ?? '', !exportReadOnly, tls?.client);
      }

      const outcome = await race(mirror, stop);
      if (outcome === 'synced') {
        synced = true;
        await flushBoth(mirror, dst);
        if (!quiet)
          io.stdout.write(
            `mirror: ${formatDeviceSpec(dstSpec)} is in sync with ${formatDeviceSpec(srcSpec)} (${formatBytes(bytes)}) after ${bar.elapsedSeconds().toFixed(2)}s\n`,
          );
        if (running === undefined) return EXIT.OK;
        if (!quiet) io.stderr.write('blk mirror: still serving; every write goes to both devices. Press Ctrl-C to stop.\n');
        const after = await (running.finished
          ? Promise.race([stop.stopped, running.finished.then(() => 'client gone' as const)])
          : stop.stopped);
        io.stderr.write(`blk mirror: ${after === 'client gone' ? 'the client disconnected' : `stopping on ${after}`}\n`);
        await running.server.close();
        await flushBoth(mirror, dst);
        if (mirror.state !== 'synced') throw new CliError(`mirror: the mirror failed while serving: ${describeError(mirror.error)}`);
        io.stderr.write('blk mirror: stopped; both devices flushed\n');
        return EXIT.OK;
      }
      bar.abandon();
      if (outcome === 'failed') {
        const fate = await giveUp(mirror, dst, running);
        throw new CliError(`mirror: ${describeError(mirror.error)} (${fate})`);
      }
      const fate = await giveUp(mirror, dst, running);
      io.stderr.write(`blk mirror: stopped by ${outcome} before the sync; ${fate}\n`);
      return exitCodeFor(outcome);
    } finally {
      stop.dispose();
      await mirror?.disconnect();
      if (!synced && pair?.dst.created === true) await pair.dst.discardCreated();
      await Promise.all([pair?.src.close(), pair?.dst.close()]);
    }
  },
};

/** Whatever comes first: the sync, a failure, a stop signal, or (stdio) the client leaving. */
async function race(mirror: Mirror, stop: StopSignals): Promise<'synced' | 'failed' | 'SIGINT' | 'SIGTERM'> {
  const synced = mirror.synced.then(
    () => 'synced' as const,
    () => 'failed' as const,
  );
  return Promise.race([synced, stop.stopped]);
}

async function flushBoth(mirror: Mirror, dst: OpenedDevice): Promise<void> {
  try {
    await mirror.flush?.();
    await dst.device.flush?.();
  } catch (error) {
    throw new CliError(`mirror: flushing failed: ${describeError(error)}`, EXIT.FAILURE, { cause: error });
  }
}

/** Stops serving and copying; deletes DST when this run created it. Says what became of DST. */
async function giveUp(mirror: Mirror, dst: OpenedDevice, running: RunningServer | undefined): Promise<string> {
  await running?.server.close();
  await mirror.disconnect();
  if (dst.created) {
    await dst.discardCreated();
    return 'deleted the partly written file';
  }
  return `${formatDeviceSpec(dst.spec)} is incomplete`;
}

function announce(
  io: Io,
  choice: ListenChoice,
  running: RunningServer,
  name: string,
  writable: boolean,
  tls: Parameters<typeof clientHints>[2],
): void {
  if (choice.kind === 'inherited') return;
  const say = choice.kind === 'stdio' ? io.stderr : io.stdout;
  for (const endpoint of running.endpoints) {
    say.write(
      `serving the mirror on ${'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`}\n  ${formatNbdUri(endpoint, name, tls)}\n`,
    );
    say.write(
      `Try:\n${clientHints(endpoint, [{ name, writable }], tls)
        .map((l) => `  ${l}\n`)
        .join('')}`,
    );
  }
  if (choice.kind === 'stdio') say.write('blk mirror: serving one client on stdin/stdout\n');
}
