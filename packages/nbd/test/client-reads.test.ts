// Large reads through the client's direct-receive path (plain sockets put READ data straight into
// the caller's buffers): scatter lists with odd boundaries, many at once, simple and structured
// replies, and TLS (which takes the buffered path) for comparison.
import { Ramdisk } from '@blk/ramdisk';
import { randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect, type ConnectOptions } from '../src/index.js';
import { firstDifference } from './helpers/images.js';
import { exportFresh, useServer } from './helpers/server-fixture.js';

const MiB = 1 << 20;
const fixture = useServer({ limits: { maxPayload: 4 * MiB, maxInFlightBytes: 64 * MiB } });
const tlsFixture = useServer({ tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 7) } } });

/** Splits `bytes` into buffers of varied, sector-multiple sizes. */
function scatter(bytes: number, seed: number): Uint8Array[] {
  const sizes = [512, 3 * 512, 64 << 10, 17 * 512, MiB + 512, 40 << 10, 3 * MiB];
  const out: Uint8Array[] = [];
  let left = bytes;
  for (let i = seed; left > 0; i++) {
    const size = Math.min(left, sizes[i % sizes.length]!);
    out.push(new Uint8Array(size).fill(0xee));
    left -= size;
  }
  return out;
}

for (const [label, options] of [
  ['structured replies', {}],
  ['simple replies', { structuredReplies: false }],
] as [string, Partial<ConnectOptions>][]) {
  describe(`large reads with ${label}`, () => {
    it('fill scatter lists exactly, whatever the boundaries and however many run at once', async () => {
      const disk = new Ramdisk({ sizeSectors: 24 * 2048 });
      const image = randomFillSync(Buffer.alloc(24 * MiB));
      await disk.write(0, [image]);
      await disk.writeZeroes(4096, 2048); // a hole in [2 MiB, 3 MiB): OFFSET_HOLE chunks with structured replies
      image.fill(0, 2 * MiB, 3 * MiB);
      const device = await connect({ path: fixture.path, exportName: exportFresh(fixture, disk), ...options });
      try {
        const reads = [0, 1, 2, 3].map(async (i) => {
          const start = i * 6 * MiB;
          const buffers = scatter(6 * MiB, i);
          await device.read(start / 512, buffers);
          return { start, got: Buffer.concat(buffers) };
        });
        for (const { start, got } of await Promise.all(reads)) {
          expect(firstDifference(got, image.subarray(start, start + got.length)), `read at ${start}`).toBe(-1);
        }
      } finally {
        await device.disconnect();
      }
    });
  });
}

describe('large reads over TLS (buffered path)', () => {
  it('return the same bytes', async () => {
    const disk = new Ramdisk({ sizeSectors: 8 * 2048 });
    const image = randomFillSync(Buffer.alloc(8 * MiB));
    await disk.write(0, [image]);
    const name = exportFresh(tlsFixture, disk);
    const device = await connect({
      path: tlsFixture.path,
      exportName: name,
      tls: { psk: { identity: 'alice', key: Buffer.alloc(32, 7) } },
    });
    try {
      const buffers = scatter(8 * MiB, 3);
      await device.read(0, buffers);
      expect(firstDifference(Buffer.concat(buffers), image)).toBe(-1);
    } finally {
      await device.disconnect();
    }
  });
});
