import { exposeDevice, nextTurn, OPTIONAL_METHODS, supports, type BlockDevice, type SupportFlag } from '@blk/core';
import { pattern, wrapDevice, type DeviceOperation } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';

/** The same device with some capabilities switched off: flags false and the methods absent. */
export function restrict(device: BlockDevice, off: readonly SupportFlag[]): BlockDevice {
  const flags = { ...device.supports };
  for (const flag of off) flags[flag] = false;
  if (!flags.discard) flags.discardZeroes = false;
  const manifest = supports(flags);
  const inner = device as unknown as Record<string, ((...args: unknown[]) => Promise<never>) | undefined>;
  const optional = Object.fromEntries(
    Object.keys(OPTIONAL_METHODS).map((method) => [method, (...args: unknown[]) => inner[method]!(...args)]),
  );
  return exposeDevice(manifest, {
    getInfo: () => device.getInfo(),
    read: (sector, buffers) => device.read(sector, buffers),
    write: (sector, buffers) => device.write(sector, buffers),
    disconnect: () => device.disconnect(),
    ...optional,
  });
}

export interface Call {
  readonly op: DeviceOperation;
  /** Bytes from the start of the device, for reads, writes, discards and writeZeroes. */
  readonly start: number;
  readonly end: number;
}

/** A device that records the byte range of every read, write, discard and writeZeroes. */
export function recording(device: BlockDevice, sectorSize: number): { device: BlockDevice; calls: Call[] } {
  const calls: Call[] = [];
  const wrapped = wrapDevice(device, (op, args, call) => {
    const sector = args[0] as number;
    if (op === 'read' || op === 'write') {
      const bytes = (args[1] as Uint8Array[]).reduce((n, b) => n + b.byteLength, 0);
      calls.push({ op, start: sector * sectorSize, end: sector * sectorSize + bytes });
    } else if (op === 'discard' || op === 'writeZeroes') {
      calls.push({ op, start: sector * sectorSize, end: (sector + (args[1] as number)) * sectorSize });
    }
    return call();
  });
  return { device: wrapped, calls };
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A ramdisk of `bytes` bytes with `sectorSize`-byte sectors and small pages, so holes are sector-sized. */
export function ramdisk(bytes: number, sectorSize: number): Ramdisk {
  return new Ramdisk({ sizeSectors: bytes / sectorSize, sectorSize, pageSize: Math.max(4096, sectorSize) });
}

/** Fills the whole device with recognisable non-zero data (stale content a mirror must replace). */
export async function scribble(device: BlockDevice, seed: number): Promise<void> {
  const { sectorSize, sizeSectors } = await device.getInfo();
  await device.write(0, [pattern(0, sizeSectors, sectorSize, seed)]);
}

/** Every byte of a device. */
export async function contents(device: BlockDevice): Promise<Uint8Array> {
  const { sectorSize, sizeSectors } = await device.getInfo();
  const bytes = new Uint8Array(sectorSize * sizeSectors);
  await device.read(0, [bytes]);
  return bytes;
}

/** Yields to the event loop `turns` times: lets everything that can run without waiting run. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}
