// validateRequest on its own: each command's flags, range, alignment and own rules, in nbdkit's order.
import { supports, type BlockDevice } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { Command, CommandFlag, Errno } from '../src/constants.js';
import { validateRequest } from '../src/request-validation.js';
import type { Negotiated } from '../src/server-handshake.js';
import type { RequestHeader } from '../src/transmission-codec.js';

const SIZE = 1 << 20;

function negotiated(
  options: { readWrite?: boolean; structured?: boolean; blockStatus?: boolean; discard?: boolean; fastZero?: boolean } = {},
): Negotiated {
  const readWrite = options.readWrite ?? true;
  const discard = options.discard ?? true;
  const device = {
    supports: supports({ write: readWrite, discard, writeZeroes: options.fastZero ?? true }),
    ...(discard ? { discard: () => Promise.resolve() } : {}),
  } as unknown as BlockDevice;
  return {
    export: { name: '', device, description: '' },
    info: { readWrite, sectorSize: 512, sizeSectors: SIZE / 512 },
    sizeBytes: SIZE,
    flags: 0,
    structured: options.structured ?? true,
    blockStatus: options.blockStatus ?? true,
    maxPayload: 32 << 20,
  };
}

const header = (type: number, offset: number, length: number, flags = 0): RequestHeader => ({
  type,
  flags,
  offset,
  length,
  cookieHi: 0,
  cookieLo: 1,
});

type Row = [name: string, request: RequestHeader, expected: number | undefined, n?: Negotiated];

const rows: Row[] = [
  ['a sector-aligned READ', header(Command.READ, 4096, 4096), undefined],
  ['a READ with DF when structured', header(Command.READ, 0, 512, CommandFlag.DF), undefined],
  ['a READ with DF when not structured', header(Command.READ, 0, 512, CommandFlag.DF), Errno.EINVAL, negotiated({ structured: false })],
  ['a READ past the end', header(Command.READ, SIZE - 512, 1024), Errno.EINVAL],
  ['a misaligned READ', header(Command.READ, 100, 512), Errno.EINVAL],
  ['a READ over the maximum payload', header(Command.READ, 0, 33 << 20), Errno.EINVAL, { ...negotiated(), sizeBytes: 64 << 20 }],
  ['a WRITE', header(Command.WRITE, 0, 512, CommandFlag.FUA), undefined],
  ['a WRITE on a read-only export', header(Command.WRITE, 0, 512), Errno.EPERM, negotiated({ readWrite: false })],
  ['a WRITE past the end', header(Command.WRITE, SIZE, 512), Errno.ENOSPC],
  ['a WRITE with unknown flags', header(Command.WRITE, 0, 512, 1 << 12), Errno.EINVAL],
  ['a misaligned WRITE', header(Command.WRITE, 0, 100), Errno.EINVAL],
  ['a FLUSH', header(Command.FLUSH, 0, 0, CommandFlag.FUA), undefined],
  ['a FLUSH with an offset', header(Command.FLUSH, 512, 0), Errno.EINVAL],
  ['a FLUSH with a length', header(Command.FLUSH, 0, 512), Errno.EINVAL],
  ['a FLUSH with NO_HOLE', header(Command.FLUSH, 0, 0, CommandFlag.NO_HOLE), Errno.EINVAL],
  ['a misaligned TRIM', header(Command.TRIM, 100, 1000), undefined],
  ['a TRIM past the end', header(Command.TRIM, SIZE, 512), Errno.EINVAL],
  ['a TRIM on a read-only export', header(Command.TRIM, 0, 512), Errno.EPERM, negotiated({ readWrite: false })],
  ['a TRIM the device cannot do', header(Command.TRIM, 0, 512), Errno.EINVAL, negotiated({ discard: false })],
  ['a CACHE', header(Command.CACHE, 0, 4096), undefined],
  ['a CACHE past the end', header(Command.CACHE, SIZE, 4096), Errno.EINVAL],
  [
    'a WRITE_ZEROES with NO_HOLE and FAST_ZERO',
    header(Command.WRITE_ZEROES, 0, 4096, CommandFlag.NO_HOLE | CommandFlag.FAST_ZERO),
    undefined,
  ],
  ['a WRITE_ZEROES past the end', header(Command.WRITE_ZEROES, SIZE, 512), Errno.ENOSPC],
  [
    'a FAST_ZERO the device cannot do fast',
    header(Command.WRITE_ZEROES, 0, 512, CommandFlag.FAST_ZERO),
    Errno.ENOTSUP,
    negotiated({ fastZero: false, discard: false }),
  ],
  ['a misaligned WRITE_ZEROES', header(Command.WRITE_ZEROES, 0, 100), Errno.EINVAL],
  ['a BLOCK_STATUS', header(Command.BLOCK_STATUS, 0, 4096, CommandFlag.REQ_ONE), undefined],
  ['a BLOCK_STATUS of length 0', header(Command.BLOCK_STATUS, 0, 0), Errno.EINVAL],
  ['a BLOCK_STATUS without a meta context', header(Command.BLOCK_STATUS, 0, 4096), Errno.EINVAL, negotiated({ blockStatus: false })],
  ['a BLOCK_STATUS with DF', header(Command.BLOCK_STATUS, 0, 4096, CommandFlag.DF), Errno.EINVAL],
  ['an unknown command', header(99, 0, 0), Errno.EINVAL],
];

describe('validateRequest', () => {
  it.each(rows)('%s', (_name, request, expected, n = negotiated()) => {
    expect(validateRequest(request, n)?.errno).toBe(expected);
  });

  it('checks flags before the read-only export, and that before the range (nbdkit order)', () => {
    const ro = negotiated({ readWrite: false });
    expect(validateRequest(header(Command.WRITE, SIZE, 100, 1 << 12), ro)?.errno).toBe(Errno.EINVAL);
    expect(validateRequest(header(Command.WRITE, SIZE, 100), ro)?.errno).toBe(Errno.EPERM);
    expect(validateRequest(header(Command.WRITE, SIZE, 100), negotiated())?.errno).toBe(Errno.ENOSPC);
  });

  it('says why in its message', () => {
    expect(validateRequest(header(Command.FLUSH, 512, 0), negotiated())?.message).toMatch(/offset and length 0/);
    expect(validateRequest(header(Command.READ, SIZE, 512), negotiated())?.message).toMatch(/runs past the end/);
  });
});
