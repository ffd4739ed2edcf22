// Mostly-valid NBD frames with one mutation now and then, so a fuzz run walks past the magic
// check into each field's own reject path (option codes, lengths, names, flags, offsets, commands).
import fc from 'fast-check';
import { Command, CommandFlag, FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, Option } from '../../src/constants.js';
import { encodeInfoRequest, encodeMetaContextRequest, encodeOption } from '../../src/option-codec.js';
import { encodeRequest } from '../../src/transmission-codec.js';

export interface Mutation {
  readonly kind: 'none' | 'byte' | 'truncate' | 'length' | 'garbage';
  readonly at: number;
  readonly value: number;
  readonly garbage: Uint8Array;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('none', 'none', 'none', 'byte', 'truncate', 'length', 'garbage'),
  at: fc.nat(),
  value: fc.nat({ max: 0xffffffff }),
  garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }),
});

/** Applies `m` to `frame`; `lengthAt` is where the frame's 32-bit length field sits. */
function mutate(frame: Buffer, m: Mutation, lengthAt: number): Buffer {
  const out = Buffer.from(frame);
  switch (m.kind) {
    case 'none':
      return out;
    case 'byte':
      out[m.at % out.length] = m.value & 0xff;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % out.length);
    case 'length':
      // a small lie (off by a little) as often as an absurd one
      out.writeUInt32BE(m.value % 2 === 0 ? (out.readUInt32BE(lengthAt) + (m.value % 9) - 4) >>> 0 : m.value >>> 0, lengthAt);
      return out;
    case 'garbage':
      return Buffer.concat([out, m.garbage]);
  }
}

/** The client flags a handshake answers with: right, or any 32-bit value. */
export const clientFlags: fc.Arbitrary<Buffer> = fc
  .oneof(
    { weight: 4, arbitrary: fc.constant(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES) },
    fc.constantFrom(0, FLAG_C_FIXED_NEWSTYLE),
    fc.nat({ max: 0xffffffff }),
  )
  .map((flags) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(flags >>> 0);
    return out;
  });

/** Option frames for the export `name`: every option, right and wrong names and queries, unknown codes. */
export function optionFrames(name: string): fc.Arbitrary<Buffer> {
  const names = fc.constantFrom(name, '', 'no-such-export', 'x'.repeat(300));
  const queries = fc.array(fc.constantFrom('base:allocation', 'base:', 'qemu:dirty-bitmap:x', 'nope'), { maxLength: 3 });
  const frame = fc.oneof(
    fc
      .constantFrom(Option.STRUCTURED_REPLY, Option.LIST, Option.STARTTLS, Option.EXTENDED_HEADERS, Option.ABORT)
      .map((o) => encodeOption(o)),
    fc
      .tuple(fc.constantFrom(Option.INFO, Option.GO), names, fc.array(fc.nat({ max: 8 }), { maxLength: 4 }))
      .map(([o, n, infos]) => encodeOption(o, encodeInfoRequest(n, infos))),
    fc
      .tuple(fc.constantFrom(Option.SET_META_CONTEXT, Option.LIST_META_CONTEXT), names, queries)
      .map(([o, n, q]) => encodeOption(o, encodeMetaContextRequest(n, q))),
    names.map((n) => encodeOption(Option.EXPORT_NAME, Buffer.from(n))),
    fc.tuple(fc.integer({ min: 12, max: 0xffff }), fc.uint8Array({ maxLength: 32 })).map(([o, data]) => encodeOption(o, data)),
  );
  return fc.tuple(frame, mutation).map(([f, m]) => mutate(f, m, 12));
}

/** Request frames for a device of `sizeBytes`: every command, good and bad flags, offsets and lengths. */
export function requestFrames(sizeBytes: number): fc.Arbitrary<Buffer> {
  const command = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        Command.READ,
        Command.WRITE,
        Command.FLUSH,
        Command.TRIM,
        Command.CACHE,
        Command.WRITE_ZEROES,
        Command.BLOCK_STATUS,
      ),
    },
    fc.constantFrom(Command.DISC, 8, 200, 0xffff),
  );
  const flags = fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    fc.constantFrom(CommandFlag.FUA, CommandFlag.NO_HOLE, CommandFlag.DF, CommandFlag.REQ_ONE, CommandFlag.FAST_ZERO, 1 << 9),
  );
  const offset = fc.oneof(
    { weight: 4, arbitrary: fc.nat({ max: sizeBytes / 512 - 1 }).map((s) => s * 512) },
    fc.constantFrom(1, sizeBytes - 512, sizeBytes, 2 ** 40),
  );
  const length = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 16 }).map((n) => n * 512) },
    fc.constantFrom(0, 1, 511, 64 << 20, 0xffffffff),
  );
  const request = fc.tuple(command, flags, fc.nat({ max: 0xffff }), offset, length).map(([type, f, cookie, at, len]) => {
    const header = encodeRequest(f, type, cookie, at, len);
    // a WRITE carries its payload when it is a sane size (a huge one is the server's to refuse)
    return type === Command.WRITE && len <= 8192 ? Buffer.concat([header, Buffer.alloc(len, 0x5a)]) : header;
  });
  return fc.tuple(request, mutation).map(([f, m]) => mutate(f, m, 24));
}
