import { expectBlockError, pattern, readSectors } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, connect, destroy } from '../src/index.js';

describe('simple-mem', () => {
  it('defaults to 32768 × 512 bytes and allocates a 16 MiB chunk only on first write', async () => {
    const disk = await connect('lazy');
    expect(await disk.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 32768 });
    expect(disk.allocatedBytes).toBe(0);
    await disk.read(0, [new Uint8Array(512)]);
    expect(disk.allocatedBytes).toBe(0);
    await disk.write(5, [pattern(5, 1, 512)]);
    expect(disk.allocatedBytes).toBe(CHUNK_BYTES);
    destroy('lazy');
  });

  it('writes and reads across a chunk boundary on a size that is not a multiple of the chunk', async () => {
    const sectorsPerChunk = CHUNK_BYTES / 4096;
    const disk = await connect('straddle', { sectorSize: 4096, sizeSectors: sectorsPerChunk + 3 });
    const info = await disk.getInfo();
    const at = sectorsPerChunk - 2;
    const data = pattern(at, 5, 4096);
    await disk.write(at, [data.subarray(0, 4096), data.subarray(4096)]);
    expect(Buffer.compare(await readSectors(disk, info, at, 5), data)).toBe(0);
    expect(disk.allocatedBytes).toBe(2 * CHUNK_BYTES);
    await expectBlockError(disk.write(sectorsPerChunk + 3, [new Uint8Array(4096)]), 'OUT_OF_RANGE');
    destroy('straddle');
  });

  it('same name, same device: data shared and kept across disconnect, until destroy', async () => {
    const a = await connect('named');
    await a.write(0, [pattern(0, 2, 512)]);
    await a.disconnect();
    await expectBlockError(a.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    const b = await connect('named');
    expect(Buffer.compare(await readSectors(b, await b.getInfo(), 0, 2), pattern(0, 2, 512))).toBe(0);
    destroy('named');
    const c = await connect('named');
    expect((await readSectors(c, await c.getInfo(), 0, 2)).every((x) => x === 0)).toBe(true);
    // The handle opened before destroy still sees the old data.
    expect((await readSectors(b, await b.getInfo(), 0, 1))[0]).not.toBe(0);
    destroy('named');
  });

  it('refuses a different geometry for an existing name, and bad geometries', async () => {
    await connect('fixed', { sizeSectors: 64 });
    await expect(connect('fixed', { sizeSectors: 65 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect('fixed', { sectorSize: 4096 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await (await connect('fixed')).getInfo()).sizeSectors).toBe(64);
    destroy('fixed');
    await expect(connect('bad', { sectorSize: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect('bad', { sizeSectors: -5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('has no resize, seek or discard', async () => {
    const disk = await connect('plain');
    expect(disk.supports).toMatchObject({ write: true, resize: false, seek: false, discard: false, flush: false });
    expect('resize' in disk || 'seekMapped' in disk || 'discard' in disk).toBe(false);
    destroy('plain');
  });
});
