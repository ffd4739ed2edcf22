import { CliError, EXIT, UsageError } from '../cli-error.js';
import { clientHints } from '../client-hints.js';
import type { Command } from '../command.js';
import { parseCommandLine, specArgument } from '../command-line.js';
import { describeError } from '../describe-error.js';
import { formatDeviceSpec, type DeviceSpec } from '../device-spec.js';
import { LISTEN_HELP, LISTEN_OPTIONS, listenChoice, startNbdServer, tlsChoice, type ExportEntry } from '../nbd-listen.js';
import { formatNbdUri } from '../nbd-uri.js';
import { openDevice, type OpenedDevice } from '../open-device.js';
import { formatBytes } from '../size.js';
import { catchStopSignals } from '../stop-signals.js';
import { availableParallelism } from 'node:os';
import type { PathSpec } from '../device-spec.js';
import { MAX_SERVE_WORKERS } from '../serve-worker-protocol.js';
import { startServeWorkers, type ServeWorkers } from '../serve-workers.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'export devices over NBD until SIGINT/SIGTERM',
  usage: `Usage: blk serve SPEC [SPEC…] [--name NAME]… [--read-only]
                 [--port N | --socket PATH | --stdio] [--host HOST] [--tls-psk FILE]
                 [--workers N]

Exports each SPEC over NBD (fixed newstyle, structured replies, base:allocation, TLS) and prints
the URI of each export with ready-to-paste nbdinfo, qemu-img and nbdcopy commands. One SPEC
without --name is the default export (''). With several SPECs, give one --name per SPEC, in
order. SIGINT or SIGTERM stops it cleanly: requests in flight finish, every device is flushed
and closed, then blk exits 0. A second signal exits at once.

When every SPEC is a file:, connections are spread over worker processes that open the same
files and accept from the same socket, so that several clients (or one multi-conn client such as
nbdcopy) use several cores; a FLUSH on any connection still covers writes acknowledged on all of
them (one page cache per file). Default: one process per core, at most 4.

Options:
  --name NAME             the export name of the next SPEC (repeat once per SPEC)
  --read-only             refuse writes on every export
  --workers N             extra serving processes for file: exports (0 = this one only; at most ${MAX_SERVE_WORKERS})
${LISTEN_HELP}
  -h, --help              this text

Examples:
  blk serve ram:1GiB                          # nbd://127.0.0.1:10809/
  blk serve file:disk.img --socket /tmp/blk.sock
  blk serve ram:1G file:base.img --name scratch --name base --port 10810
  nbdinfo -- [ blk serve ram:64M ]
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('serve', {
      args: [...args],
      options: {
        ...LISTEN_OPTIONS,
        name: { type: 'string', multiple: true },
        'read-only': { type: 'boolean', short: 'r' },
        workers: { type: 'string' },
      },
      allowPositionals: true,
    });
    if (positionals.length === 0) throw new UsageError('serve: missing SPEC');
    const specs = positionals.map((text) => specArgument('serve', text));
    const names = exportNames(specs, values.name ?? []);
    const choice = listenChoice('serve', values, io.env);
    const tls = await tlsChoice('serve', values, io.cwd);
    const readOnly = values['read-only'] === true;
    const workerCount = workersChoice(specs, choice.kind, values.workers);
    // In stdio mode stdout is the NBD connection: everything for people goes to stderr.
    const say = choice.kind === 'stdio' ? io.stderr : io.stdout;
    const quietStart = choice.kind === 'inherited' && values.verbose !== true;

    const stop = catchStopSignals();
    const opened: OpenedDevice[] = [];
    let failed = false;
    try {
      for (const spec of specs) opened.push(await openDevice(spec, { readOnly }));
      const entries: ExportEntry[] = opened.map((o, i) => ({ name: names[i]!, device: o.device, description: formatDeviceSpec(o.spec) }));
      const report = values.verbose === true ? (message: string) => io.stderr.write(`blk serve: ${message}\n`) : undefined;
      const running = await startNbdServer('serve', entries, choice, tls?.server, report);
      let workers: ServeWorkers | undefined;
      if (workerCount > 0) {
        try {
          workers = await startServeWorkers(
            workerCount,
            {
              exports: specs.map((spec, i) => ({ name: names[i]!, spec: spec as PathSpec })),
              readOnly,
              tls: tls?.server,
              verbose: values.verbose === true,
            },
            running.server,
            (message) => io.stderr.write(`blk serve: ${message}\n`),
          );
        } catch (error) {
          await running.server.close();
          throw new CliError(`serve: ${describeError(error)}`, undefined, { cause: error });
        }
      }

      const described: { name: string; writable: boolean }[] = [];
      for (const [i, entry] of entries.entries()) {
        const info = await entry.device.getInfo();
        const bytes = info.sizeSectors * info.sectorSize;
        described.push({ name: entry.name, writable: info.readWrite });
        if (!quietStart) {
          const label = entry.name === '' ? 'the default export' : `export '${entry.name}'`;
          say.write(
            `blk serve: ${formatDeviceSpec(specs[i]!)} (${formatBytes(bytes)}, ${info.readWrite ? 'read-write' : 'read-only'}) as ${label}\n`,
          );
        }
      }
      for (const endpoint of running.endpoints) {
        say.write(
          `listening on ${'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`}${tls ? ' (TLS required)' : ''}\n`,
        );
        for (const { name } of described) say.write(`  ${formatNbdUri(endpoint, name, tls?.client)}\n`);
        say.write(
          `Try:\n${clientHints(endpoint, described, tls?.client)
            .map((l) => `  ${l}\n`)
            .join('')}`,
        );
      }
      if (choice.kind === 'stdio') say.write('blk serve: serving one client on stdin/stdout\n');
      if (!quietStart && choice.kind !== 'stdio') say.write('Press Ctrl-C to stop.\n');

      const why = await (running.finished ? Promise.race([stop.stopped, running.finished.then(() => 'client gone')]) : stop.stopped);
      if (!quietStart) io.stderr.write(`blk serve: ${why === 'client gone' ? 'the client disconnected' : `stopping on ${why}`}\n`);
      const [workersOk] = await Promise.all([workers?.stop() ?? true, running.server.close()]);
      if (!workersOk) {
        failed = true;
        io.stderr.write('blk serve: a worker process did not stop cleanly\n');
      }
      for (const o of opened) {
        try {
          await o.device.flush?.();
        } catch (error) {
          failed = true;
          io.stderr.write(`blk serve: flushing ${formatDeviceSpec(o.spec)} failed: ${describeError(error)}\n`);
        }
      }
      if (!quietStart) io.stderr.write(`blk serve: stopped${failed ? ' (with errors)' : ''}\n`);
      return failed ? EXIT.FAILURE : EXIT.OK;
    } finally {
      stop.dispose();
      await Promise.all(opened.map((o) => o.close()));
    }
  },
};

/** Extra processes: --workers N, else one per core (at most 4 in all) when every SPEC is a file: on a socket. */
function workersChoice(specs: readonly DeviceSpec[], listen: string, text: string | undefined): number {
  const shareable = specs.every((spec) => spec.kind === 'file') && (listen === 'tcp' || listen === 'unix');
  if (text === undefined) return shareable ? Math.min(availableParallelism(), 4) - 1 : 0;
  if (!/^\d+$/.test(text) || Number(text) > MAX_SERVE_WORKERS)
    throw new UsageError(`serve: bad --workers '${text}': expected 0–${MAX_SERVE_WORKERS}`);
  const count = Number(text);
  if (count > 0 && !shareable)
    throw new UsageError('serve: --workers needs every SPEC to be a file: and a --port or --socket to listen on');
  return count;
}

function exportNames(specs: readonly DeviceSpec[], names: readonly string[]): string[] {
  if (names.length === 0) {
    if (specs.length > 1) throw new UsageError(`serve: ${specs.length} SPECs need ${specs.length} --name options, one each`);
    return [''];
  }
  if (names.length !== specs.length)
    throw new UsageError(`serve: ${specs.length} SPEC(s) but ${names.length} --name option(s); give one per SPEC`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new UsageError(`serve: export name '${name}' given twice`);
    if (Buffer.byteLength(name) > 4096 || name.includes('\0')) throw new UsageError(`serve: export name '${name}' is not a valid NBD name`);
    seen.add(name);
  }
  return [...names];
}
