// The NBD client is a BlockDevice: the shared suite runs against it over our own server (each
// device a fresh ramdisk export), with several sector sizes, read-only, and without the
// optional protocol features (simple replies, no block status).
import { describeBlockDevice, withLatency } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { Ramdisk } from '@blk/ramdisk';
import { connect } from '../src/index.js';
import { exportFresh, useServer } from './helpers/server-fixture.js';

const fixture = useServer();

describeBlockDevice('NbdDevice over our server, 512-byte sectors', () =>
  connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })) }),
);

describeBlockDevice('NbdDevice over our server, 4096-byte sectors', () =>
  connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 64, sectorSize: 4096 })) }),
);

describeBlockDevice('NbdDevice over our server, read-only export', () =>
  connect({ path: fixture.path, exportName: exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 128 }), readOnly: true }) }),
);

describeBlockDevice(
  'NbdDevice over our server, simple replies only (no block status)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })), structuredReplies: false }),
  { modelRuns: 10 },
);

describeBlockDevice(
  'NbdDevice over our server, 3 connections (multi-conn)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 256 })), connections: 3 }),
  { modelRuns: 10 },
);

describeBlockDevice(
  'NbdDevice over our server, export with shuffled completion times (replies out of order)',
  () => connect({ path: fixture.path, exportName: exportFresh(fixture, withLatency(new Ramdisk({ sizeSectors: 256 }), { maxMs: 2 })) }),
  { modelRuns: 10 },
);

describe('the server under the suite', () => {
  it('reported no protocol violations or connection errors', () => {
    expect(fixture.errors.map((e) => e.message)).toEqual([]);
  });
});
