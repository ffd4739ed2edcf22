import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../src/frame-reader.js';

/** Splits `bytes` at the given cut points into chunks as a socket might deliver them. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) out.push(Buffer.from(bytes.subarray(from, point)));
    from = Math.max(from, point);
  }
  return out;
}

const payload = fc.uint8Array({ minLength: 0, maxLength: 5000 }).map((a) => Buffer.from(a));

describe('FrameReader', () => {
  it('reads back any byte stream, however it was chunked, with take/peek/skip', () => {
    fc.assert(
      fc.property(
        payload,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 30 }),
        (bytes, cuts, reads) => {
          const reader = new FrameReader();
          for (const chunk of chunked(bytes, cuts)) reader.push(chunk);
          expect(reader.length).toBe(bytes.length);
          let pos = 0;
          for (const [i, n] of reads.entries()) {
            const take = Math.min(n, reader.length);
            if (i % 3 === 2) {
              reader.skip(take);
            } else {
              expect(Buffer.compare(reader.peek(take), bytes.subarray(pos, pos + take))).toBe(0);
              expect(Buffer.compare(reader.take(take), bytes.subarray(pos, pos + take))).toBe(0);
            }
            pos += take;
            expect(reader.length).toBe(bytes.length - pos);
          }
        },
      ),
    );
  });

  it('takeAligned returns whole grains, views of the chunks where it can, and the same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 24 }),
        fc.constantFrom(512, 4096),
        fc.array(fc.nat(), { maxLength: 20 }),
        (grains, grain, cuts) => {
          const bytes = Buffer.alloc(grains * grain + 100);
          for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
          const reader = new FrameReader();
          const chunks = chunked(bytes, cuts);
          for (const chunk of chunks) reader.push(chunk);
          const pieces = reader.takeAligned(grains * grain, grain);
          for (const piece of pieces) expect(piece.length % grain).toBe(0);
          expect(Buffer.compare(Buffer.concat(pieces), bytes.subarray(0, grains * grain))).toBe(0);
          // Only straddling grains are copies: every other piece shares memory with a received chunk.
          const copies = pieces.filter((p) => !chunks.some((c) => c.buffer === p.buffer));
          for (const copy of copies) expect(copy.length).toBe(grain);
          expect(copies.length).toBeLessThanOrEqual(chunks.length);
          expect(Buffer.compare(reader.take(100), bytes.subarray(grains * grain))).toBe(0);
        },
      ),
    );
  });

  it('exact() waits for bytes that arrive later, and rejects when the stream fails', async () => {
    const reader = new FrameReader();
    const pending = reader.exact(6);
    reader.push(Buffer.from('abc'));
    reader.push(Buffer.from('defg'));
    expect((await pending).toString()).toBe('abcdef');
    const starved = reader.exact(10);
    reader.fail(new Error('peer went away'));
    await expect(starved).rejects.toThrow('peer went away');
    await expect(reader.exact(1)).resolves.toEqual(Buffer.from('g'));
    await expect(reader.exact(1)).rejects.toThrow('peer went away');
  });

  it('refuses two concurrent waits', async () => {
    const reader = new FrameReader();
    const first = reader.readable(4);
    await expect(reader.readable(4)).rejects.toThrow(/concurrent/);
    reader.push(Buffer.alloc(4));
    await first;
  });

  it('consume() hands out views that stay valid', () => {
    const reader = new FrameReader();
    reader.push(Buffer.from('hello '));
    reader.push(Buffer.from('world'));
    const views: Buffer[] = [];
    reader.consume(8, (v) => views.push(v));
    expect(views.map((v) => v.toString())).toEqual(['hello ', 'wo']);
    expect(reader.take(3).toString()).toBe('rld');
    expect(reader.length).toBe(0);
  });
});

describe('FrameReader.adopt', () => {
  it('copies what is left of a borrowed chunk, so the caller may overwrite it', () => {
    const reader = new FrameReader();
    const scratch = Buffer.from('abcdefgh');
    const view = scratch.subarray(0, 6);
    reader.push(view);
    reader.skip(2);
    reader.adopt(view);
    scratch.fill(0x7a);
    expect(reader.take(4).toString()).toBe('cdef');
    // Adopting a chunk that is no longer there does nothing.
    reader.adopt(view);
    expect(reader.length).toBe(0);
  });
});
