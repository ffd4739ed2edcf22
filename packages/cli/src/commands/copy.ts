import { compare, copy } from '@blk/core';
import { NBD_COPY_SETTINGS } from '@blk/nbd';
import { CliError, EXIT } from '../cli-error.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandLine, sizeArgument, specArgument } from '../command-line.js';
import { describeError } from '../describe-error.js';
import { formatDeviceSpec } from '../device-spec.js';
import { openPair, type OpenedPair } from '../open-pair.js';
import { progressMode, progressOn } from '../progress-option.js';
import { formatBytes } from '../size.js';
import { catchStopSignals, exitCodeFor } from '../stop-signals.js';

export const copyCommand: Command = {
  name: 'copy',
  summary: 'copy one device onto another, sparse-aware, with progress',
  usage: `Usage: blk copy SRC DST [--verify] [--chunk SIZE] [--progress MODE | --quiet]

Copies all of SRC onto the start of DST. Ranges SRC reports as zero are not read: they are
zeroed on DST by the cheapest means it has, or skipped where DST already reads zero. DST must be
writable and at least as large as SRC. A file: or fmap: DST that does not exist is created with
SRC's size (an fmap: also with SRC's sector size). DST is flushed before blk says the copy is done.
Through NBD it works as nbdcopy does: 4 connections when the server allows multi-conn, 16
requests in flight.

SIGINT or SIGTERM stops the copy: blk waits for the requests in flight, says how far it got,
deletes a file it created for this copy, and exits 130 (SIGINT) or 143 (SIGTERM).

Options:
  --verify          compare DST with SRC afterwards (same size needed); exit 1 if they differ
  --chunk SIZE      bytes per request (default 1M)
  --progress MODE   auto (default: a bar on a terminal, lines otherwise), bar, lines or none
  -q, --quiet       no progress and no summary
  -h, --help        this text

Examples:
  blk copy file:disk.img nbd://127.0.0.1:10809
  blk copy 'nbd+unix:///?socket=/tmp/blk.sock' file:backup.img --verify
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('copy', {
      args: [...args],
      options: {
        verify: { type: 'boolean' },
        chunk: { type: 'string' },
        progress: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
      allowPositionals: true,
    });
    const [srcText, dstText] = expectPositionals('copy', positionals, ['SRC', 'DST']) as [string, string];
    const srcSpec = specArgument('copy', srcText);
    const dstSpec = specArgument('copy', dstText);
    const chunkBytes = values.chunk === undefined ? undefined : sizeArgument('copy', 'chunk', values.chunk);
    if (chunkBytes === 0) throw new CliError('copy: --chunk must be more than 0 bytes', EXIT.USAGE);
    const mode = progressMode('copy', values.progress, values.quiet);
    const quiet = values.quiet === true;

    // Through NBD, what nbdcopy does: several connections (when the server allows), many requests in flight.
    const viaNbd = srcSpec.kind === 'nbd' || dstSpec.kind === 'nbd';
    const concurrency = viaNbd ? NBD_COPY_SETTINGS.concurrency : undefined;
    const stop = catchStopSignals();
    let pair: OpenedPair | undefined;
    let copied = false;
    try {
      pair = await openPair('copy', srcSpec, dstSpec, {
        srcReadOnly: true,
        nbdConnections: viaNbd ? NBD_COPY_SETTINGS.connections : undefined,
        nothingWas: 'copied',
        sizeRefusal: (dstBytes, bytes) => {
          if (dstBytes < bytes) return `DST is smaller than SRC (${dstBytes} < ${bytes} bytes)`;
          if (values.verify === true && dstBytes !== bytes)
            return `--verify needs DST exactly as large as SRC (${dstBytes} vs ${bytes} bytes)`;
          return undefined;
        },
      });
      const { src, dst, bytes } = pair;
      const bar = progressOn(io, 'copy', mode);
      let done = 0;
      try {
        await copy(src.device, dst.device, {
          signal: stop.signal,
          chunkBytes,
          concurrency,
          onProgress: (d, total) => {
            done = d;
            bar.update(d, total);
          },
        });
        await dst.device.flush?.();
        copied = true;
      } catch (error) {
        bar.abandon();
        const signalName = stop.received();
        const fate = dst.created ? 'deleted the partly written file' : `${formatDeviceSpec(dstSpec)} is incomplete`;
        if (dst.created) await dst.discardCreated();
        if (signalName !== undefined) {
          io.stderr.write(`blk copy: stopped by ${signalName} after ${done} of ${bytes} bytes; ${fate}\n`);
          return exitCodeFor(signalName);
        }
        throw new CliError(`copy: ${describeError(error)} (after ${done} of ${bytes} bytes; ${fate})`, EXIT.FAILURE, { cause: error });
      }
      bar.finish();
      const seconds = bar.elapsedSeconds();
      if (values.verify === true) {
        const check = progressOn(io, 'verify', mode);
        const order = await compare(src.device, dst.device, {
          signal: stop.signal,
          onProgress: (d, total) => check.update(d, total),
        }).catch((error: unknown) => {
          check.abandon();
          const signalName = stop.received();
          if (signalName !== undefined) return signalName;
          throw new CliError(`verify: ${describeError(error)}`, EXIT.FAILURE, { cause: error });
        });
        if (typeof order === 'string') {
          io.stderr.write(`blk copy: the copy is complete; verification stopped by ${order}\n`);
          return exitCodeFor(order);
        }
        check.finish();
        if (order !== 0) throw new CliError(`verify: ${formatDeviceSpec(dstSpec)} differs from ${formatDeviceSpec(srcSpec)}`);
      }
      if (!quiet) {
        const rate = seconds > 0 ? `, ${formatBytes(bytes / seconds)}/s` : '';
        io.stdout.write(
          `copied ${bytes} bytes (${formatBytes(bytes)}) from ${formatDeviceSpec(srcSpec)} to ${formatDeviceSpec(dstSpec)} in ${seconds.toFixed(2)}s${rate}${values.verify === true ? ', verified' : ''}\n`,
        );
      }
      return EXIT.OK;
    } finally {
      stop.dispose();
      // A file made for a copy that never completed must not look like one.
      if (!copied && pair?.dst.created === true) await pair.dst.discardCreated();
      await Promise.all([pair?.src.close(), pair?.dst.close()]);
    }
  },
};
