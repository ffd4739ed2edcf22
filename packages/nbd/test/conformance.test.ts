// The NBD client is a BlockDevice: the shared suite runs against it over our own server (each
// device a fresh ramdisk export), with several sector sizes, read-only, and without the
// optional protocol features (simple replies, no block status).
import type { BlockDevice } from '@blk/core';
import { describeBlockDevice, withLatency, type ConformanceOptions } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { Ramdisk } from '@blk/ramdisk';
import { connect, type NbdExport } from '../src/index.js';
import { exportFresh, useServer } from './helpers/server-fixture.js';

const fixture = useServer();

type ConnectOptions = Omit<Parameters<typeof connect>[0] & object, 'path' | 'exportName'>;

/** 5 GiB, sparse: one request of more than 32 MiB (the payload maximum) crosses the 4 GiB mark. */
const LARGE_BYTES = 5 * 2 ** 30;

/** A client on a fresh export of `device`; the export goes when the client disconnects, and its memory with it. */
async function clientOf(device: BlockDevice | NbdExport, options: ConnectOptions = {}) {
  const exportName = exportFresh(fixture, device);
  const client = await connect({ path: fixture.path, exportName, ...options });
  const disconnect = client.disconnect.bind(client);
  Object.defineProperty(client, 'disconnect', {
    value: () =>
      disconnect().then(() => {
        fixture.server.deleteExport(exportName);
      }),
  });
  return client;
}

/** Faults injected in the exported Ramdisk (the server answers EIO), and a large export, for the same client setup. */
function hooks(
  sizeSectors: number,
  sectorSize: number,
  options: ConnectOptions = {},
  wrap = (d: BlockDevice): BlockDevice => d,
): ConformanceOptions {
  return {
    overFaults: (faulty) => clientOf(faulty(wrap(new Ramdisk({ sizeSectors, sectorSize }))), options),
    large: () => clientOf(wrap(new Ramdisk({ sizeSectors: LARGE_BYTES / sectorSize, sectorSize })), options),
  };
}

describeBlockDevice(
  'NbdDevice over our server, 512-byte sectors',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })) }),
  hooks(256, 512),
);

describeBlockDevice(
  'NbdDevice over our server, 4096-byte sectors',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 64, sectorSize: 4096 })) }),
  hooks(64, 4096),
);

describeBlockDevice(
  'NbdDevice over our server, read-only export',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 128 }), readOnly: true }) }),
  {
    overFaults: (faulty) => clientOf({ device: faulty(new Ramdisk({ sizeSectors: 128 })), readOnly: true }),
    large: () => clientOf({ device: new Ramdisk({ sizeSectors: LARGE_BYTES / 512 }), readOnly: true }),
  },
);

describeBlockDevice(
  'NbdDevice over our server, simple replies only (no block status)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })), structuredReplies: false }),
  { modelRuns: 10, ...hooks(256, 512, { structuredReplies: false }) },
);

describeBlockDevice(
  'NbdDevice over our server, 3 connections (multi-conn)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })), connections: 3 }),
  { modelRuns: 10, ...hooks(256, 512, { connections: 3 }) },
);

describeBlockDevice(
  'NbdDevice over our server, export with shuffled completion times (replies out of order)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, withLatency(new Ramdisk({ sizeSectors: 256 }), { maxMs: 2 })) }),
  { modelRuns: 10, overFaults: hooks(256, 512, {}, (d) => withLatency(d, { maxMs: 2 })).overFaults! },
);

describe('the server under the suite', () => {
  it('reported no protocol violations or connection errors', () => {
    expect(fixture.errors.map((e) => e.message)).toEqual([]);
  });
});
