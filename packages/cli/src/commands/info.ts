import { SUPPORT_FLAGS } from '@blk/core';
import { EXIT } from '../cli-error.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandLine, specArgument } from '../command-line.js';
import { formatDeviceSpec } from '../device-spec.js';
import { openDevice } from '../open-device.js';
import { formatBytes } from '../size.js';

export const infoCommand: Command = {
  name: 'info',
  summary: 'size, sector size, access and supported operations of a device',
  usage: `Usage: blk info SPEC [--json]

Opens the device SPEC names and prints its size, sector size, whether it is writable and which
optional operations it supports (the @blk/core supports flags). Nothing is written.

Options:
  --json      one JSON object instead of text
  -h, --help  this text

Examples:
  blk info file:disk.img
  blk info nbd://127.0.0.1:10809
  blk info --json 'nbd+unix:///?socket=/tmp/blk.sock'
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('info', {
      args: [...args],
      options: { json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const [specText] = expectPositionals('info', positionals, ['SPEC']) as [string];
    const spec = specArgument('info', specText);
    const { device, close } = await openDevice(spec, { probe: true });
    try {
      const info = await device.getInfo();
      const bytes = info.sizeSectors * info.sectorSize;
      if (values.json === true) {
        const flags = Object.fromEntries(SUPPORT_FLAGS.map((flag) => [flag, device.supports[flag]]));
        io.stdout.write(
          `${JSON.stringify({ spec: formatDeviceSpec(spec), sizeBytes: bytes, sectorSize: info.sectorSize, sizeSectors: info.sizeSectors, readWrite: info.readWrite, supports: flags })}\n`,
        );
      } else {
        const supported = SUPPORT_FLAGS.filter((flag) => device.supports[flag]);
        const rows: [string, string][] = [
          ['device', formatDeviceSpec(spec)],
          ['size', `${bytes} bytes (${formatBytes(bytes)})`],
          ['sectors', `${info.sizeSectors} × ${info.sectorSize} bytes`],
          ['access', info.readWrite ? 'read-write' : 'read-only'],
          ['supports', supported.length > 0 ? supported.join(' ') : '(none)'],
        ];
        for (const [key, value] of rows) io.stdout.write(`${key.padEnd(10)}${value}\n`);
      }
      return EXIT.OK;
    } finally {
      await close();
    }
  },
};
