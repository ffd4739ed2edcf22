import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

// zlib.crc32 arrived in Node 20.15/22.2; older 20.x lines get the table version.
const native = (zlib as { crc32?: Crc32 }).crc32;

/** CRC-32 (IEEE, as zlib), chainable through `value`. */
export const crc32: Crc32 = typeof native === 'function' ? native : tableCrc32;

export { tableCrc32 };
