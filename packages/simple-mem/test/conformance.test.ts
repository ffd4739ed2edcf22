import { describeBlockDevice } from '@blk/conformance';
import { connect, destroy } from '../src/index.js';

let n = 0;

/** A 5 GiB device (chunks are made on first write) that the registry forgets at once, so its memory goes with the handle. */
async function large(sectorSize: number) {
  const name = `suite-large-${n++}`;
  const device = await connect(name, { sizeSectors: (5 * 2 ** 30) / sectorSize, sectorSize });
  destroy(name);
  return device;
}

describeBlockDevice('simple-mem 512', () => connect(`suite-512-${n++}`, { sizeSectors: 256 }), { large: () => large(512) });
describeBlockDevice('simple-mem 4096', () => connect(`suite-4096-${n++}`, { sizeSectors: 48, sectorSize: 4096 }), {
  large: () => large(4096),
});
