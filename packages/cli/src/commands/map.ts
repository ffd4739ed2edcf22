import { extents } from '@blk/core';
import { EXIT } from '../cli-error.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandLine, specArgument } from '../command-line.js';
import { openDevice } from '../open-device.js';

export const mapCommand: Command = {
  name: 'map',
  summary: 'the mapped (data) and unmapped (zero) extents of a device',
  usage: `Usage: blk map SPEC [--json]

Lists the device as consecutive byte ranges: "data" where it may hold data, "zero" where it is
guaranteed to read as zeroes. Devices that cannot tell (mem:, and files without SEEK_HOLE) show
one data range. Nothing is written.

Options:
  --json      a JSON array of { offset, length, type, mapped } instead of text
  -h, --help  this text

Examples:
  blk map file:disk.img
  blk map --json nbd://127.0.0.1:10809
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('map', {
      args: [...args],
      options: { json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const [specText] = expectPositionals('map', positionals, ['SPEC']) as [string];
    const { device, close } = await openDevice(specArgument('map', specText), { probe: true });
    try {
      const { sectorSize } = await device.getInfo();
      const rows: { offset: number; length: number; type: 'data' | 'zero'; mapped: boolean }[] = [];
      for await (const extent of extents(device)) {
        rows.push({
          offset: extent.sector * sectorSize,
          length: extent.count * sectorSize,
          type: extent.mapped ? 'data' : 'zero',
          mapped: extent.mapped,
        });
      }
      if (values.json === true) {
        io.stdout.write(`${JSON.stringify(rows)}\n`);
        return EXIT.OK;
      }
      const offsetWidth = Math.max(6, ...rows.map((r) => String(r.offset).length));
      const lengthWidth = Math.max(6, ...rows.map((r) => String(r.length).length));
      io.stdout.write(`${'offset'.padStart(offsetWidth)}  ${'length'.padStart(lengthWidth)}  type\n`);
      for (const row of rows) {
        io.stdout.write(`${String(row.offset).padStart(offsetWidth)}  ${String(row.length).padStart(lengthWidth)}  ${row.type}\n`);
      }
      return EXIT.OK;
    } finally {
      await close();
    }
  },
};
