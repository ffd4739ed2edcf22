import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extents, isBlockError, supports, type BlockDevice, type Extent } from '../src/index.js';
import { ArrayDevice } from './helpers/array-device.js';

async function collect(device: BlockDevice): Promise<Extent[]> {
  const out: Extent[] = [];
  for await (const e of extents(device)) out.push(e);
  return out;
}

describe('extents', () => {
  it('is one mapped run for a device that cannot seek', async () => {
    const dev = new ArrayDevice({ sizeSectors: 10 });
    expect(await collect(dev)).toEqual([{ sector: 0, count: 10, mapped: true }]);
  });

  it('is empty for an empty device', async () => {
    expect(await collect(new ArrayDevice({ sizeSectors: 0, seek: true }))).toEqual([]);
    expect(await collect(new ArrayDevice({ sizeSectors: 0 }))).toEqual([]);
  });

  it('alternates mapped and unmapped runs and covers the device (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 80 }), async (map) => {
        const dev = new ArrayDevice({ sizeSectors: map.length, seek: true });
        map.forEach((m, i) => {
          if (m) dev.fill(i, 1, i);
        });
        const runs = await collect(dev);
        let pos = 0;
        for (const [i, run] of runs.entries()) {
          expect(run.sector).toBe(pos);
          expect(run.count).toBeGreaterThan(0);
          if (i > 0) expect(run.mapped).not.toBe(runs[i - 1]!.mapped);
          for (let s = run.sector; s < run.sector + run.count; s++) expect(map[s]).toBe(run.mapped);
          pos += run.count;
        }
        expect(pos).toBe(map.length);
      }),
    );
  });

  it('treats a sector that is both "zero" and "may hold data" as mapped, and still progresses', async () => {
    const liar: BlockDevice = {
      supports: supports({ seek: true }),
      getInfo: async () => ({ readWrite: false, sectorSize: 512, sizeSectors: 4 }),
      read: async () => undefined,
      write: async () => undefined,
      disconnect: async () => undefined,
      seekMapped: async (s) => s,
      seekUnmapped: async (s) => s,
    };
    expect(await collect(liar)).toEqual([{ sector: 0, count: 4, mapped: true }]);
  });

  it('rejects with IO when a device answers a seek outside [sector, size]', async () => {
    const broken: BlockDevice = {
      supports: supports({ seek: true }),
      getInfo: async () => ({ readWrite: false, sectorSize: 512, sizeSectors: 4 }),
      read: async () => undefined,
      write: async () => undefined,
      disconnect: async () => undefined,
      seekMapped: async () => 99,
      seekUnmapped: async () => 99,
    };
    const error: unknown = await collect(broken).catch((e: unknown) => e);
    expect(isBlockError(error, 'IO')).toBe(true);
  });

  it('reports progress in sectors and stops on abort', async () => {
    const dev = new ArrayDevice({ sizeSectors: 8, seek: true });
    dev.fill(2, 2, 1);
    const seen: number[] = [];
    for await (const _ of extents(dev, { onProgress: (done, total) => seen.push(done, total) })) {
      /* drain */
    }
    expect(seen.slice(0, 2)).toEqual([0, 8]);
    expect(seen.slice(-2)).toEqual([8, 8]);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(collect2(dev, controller.signal)).rejects.toThrow('stop');
  });
});

async function collect2(device: BlockDevice, signal: AbortSignal): Promise<number> {
  let n = 0;
  for await (const _ of extents(device, { signal })) n++;
  return n;
}
