// Our server against qemu's NBD client: qemu-img info, convert both ways and compare, and qemu-io
// writes, FUA writes, zeroes, discards and flushes, checked on the exported ramdisk itself.
import { Ramdisk } from '@blk/ramdisk';
import { describeWithPeers, run, runOk } from '@blk/test-kit';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatUri } from '../../src/index.js';
import { firstDifference, readImage, writeTestImage } from '../helpers/images.js';
import { exportFresh, useServer } from '../helpers/server-fixture.js';

const MiB = 1 << 20;
const fixture = useServer();
const uriOf = (name: string) => formatUri({ path: fixture.path, exportName: name });

describeWithPeers('qemu-img against our server', ['qemu-img'], ({ 'qemu-img': qemuImg }) => {
  it('info reports the raw size of the export', async () => {
    const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 10 * 2048 }));
    const { stdout } = await runOk(qemuImg!, ['info', '--output=json', uriOf(name)]);
    expect(JSON.parse(stdout)).toMatchObject({ 'virtual-size': 10 * MiB, format: 'raw' });
  });

  it('converts an image into the export and back out, and compare finds them identical', async () => {
    const disk = new Ramdisk({ sizeSectors: 20 * 2048 });
    const name = exportFresh(fixture, disk);
    const input = join(fixture.dir, `qemu-in-${name}.img`);
    const output = join(fixture.dir, `qemu-out-${name}.img`);
    const image = writeTestImage(input, 20);
    await runOk(qemuImg!, ['convert', '-n', '-f', 'raw', '-O', 'raw', input, uriOf(name)]);
    // What landed in the ramdisk, read directly.
    const landed = new Uint8Array(image.length);
    await disk.read(0, [landed]);
    expect(firstDifference(landed, image)).toBe(-1);
    await runOk(qemuImg!, ['convert', '-f', 'raw', '-O', 'raw', uriOf(name), output]);
    expect(firstDifference(readImage(output), image)).toBe(-1);
    const same = await run(qemuImg!, ['compare', '-f', 'raw', '-F', 'raw', input, uriOf(name)]);
    expect(same.stdout).toContain('Images are identical');
    expect(same.code).toBe(0);
    await disk.write(4096, [new Uint8Array(512).fill(1)]);
    const differ = await run(qemuImg!, ['compare', '-f', 'raw', '-F', 'raw', input, uriOf(name)]);
    expect(differ.code).toBe(1);
    expect(differ.stdout).toContain('Content mismatch at offset 2097152');
  });
});

describeWithPeers('qemu-io against our server', ['qemu-io'], ({ 'qemu-io': qemuIo }) => {
  it('writes, FUA writes, zeroes, discards and flushes land exactly where asked', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 });
    const name = exportFresh(fixture, disk);
    await disk.write(256, [new Uint8Array(64 << 10).fill(0x77)]); // [128k, 192k) holds data to discard
    const commands = [
      'write -P 0xab 0 64k',
      'read -P 0xab 0 64k',
      'write -f -P 0xcd 64k 4k',
      'write -z 68k 60k',
      'read -P 0 68k 60k',
      'discard 128k 64k',
      'write -P 0xee 1020k 4k',
      'flush',
    ];
    const { stdout } = await runOk(qemuIo!, ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), uriOf(name)]);
    expect(stdout).not.toMatch(/fail|error/i);
    const bytes = new Uint8Array(MiB);
    await disk.read(0, [bytes]);
    const at = (from: number, to: number) => bytes.subarray(from << 10, to << 10);
    expect(at(0, 64).every((b) => b === 0xab)).toBe(true);
    expect(at(64, 68).every((b) => b === 0xcd)).toBe(true);
    expect(at(68, 128).every((b) => b === 0)).toBe(true);
    // The ramdisk discards whole pages and zeroes them.
    expect(at(128, 192).every((b) => b === 0)).toBe(true);
    expect(at(1020, 1024).every((b) => b === 0xee)).toBe(true);
    expect(await disk.seekMapped(256)).toBeGreaterThanOrEqual(384);
  });

  it('a read past the end fails and the connection stays usable', async () => {
    const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 2048 }));
    const { stdout } = await run(qemuIo!, ['-f', 'raw', '-c', 'read 1020k 8k', '-c', 'read -P 0 0 4k', uriOf(name)]);
    expect(stdout).toMatch(/read failed|Input\/output error|Invalid argument|out of range/i);
    expect(stdout).toContain('read 4096/4096 bytes at offset 0');
  });
});

describe('the server under qemu', () => {
  it('reported no protocol violations', () => {
    expect(fixture.errors.map((e) => e.message)).toEqual([]);
  });
});
