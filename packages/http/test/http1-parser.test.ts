// The HTTP/1.x response parser of the Node socket transport: well-formed responses give the same
// head and body however the bytes are split; malformed ones throw HttpParseError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpParseError, MAX_HEAD_BYTES, ResponseParser } from '../src/http1-parser.js';

const text = new TextEncoder();

/** Feeds `wire` in pieces cut at `cuts`, returns the head, the body and whether the message completed. */
function parse(wire: Uint8Array, cuts: number[] = [], method: 'GET' | 'HEAD' = 'GET', eof = false) {
  const parser = new ResponseParser(method);
  const body: number[] = [];
  const edges = [...new Set(cuts.map((c) => c % (wire.byteLength + 1)))].sort((a, b) => a - b);
  let from = 0;
  let rest = 0;
  for (const to of [...edges, wire.byteLength]) {
    let piece = wire.subarray(from, to);
    from = to;
    while (piece.byteLength > 0 && !parser.complete) {
      const used = parser.head === undefined ? parser.feedHead(piece) : parser.feedBody(piece, (p) => (body.push(...p), true));
      piece = piece.subarray(used);
    }
    rest += piece.byteLength;
  }
  if (eof) parser.end();
  return { head: parser.head, body: Uint8Array.from(body), complete: parser.complete, rest };
}

const HEAD = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nETag: "x"\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n';
const PAYLOAD = text.encode('0123456789');

const framings: [string, Uint8Array][] = [
  ['Content-Length', text.encode(`${HEAD}Content-Length: 10\r\n\r\n0123456789`)],
  ['chunked', text.encode(`${HEAD}Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\n012\r\n7\r\n3456789\r\n0\r\nTrailer: x\r\n\r\n`)],
  ['100 Continue first', text.encode(`HTTP/1.1 100 Continue\r\n\r\n${HEAD}Content-Length: 10\r\n\r\n0123456789`)],
];

describe('ResponseParser', () => {
  it.each(framings)('reads a %s body the same however the bytes are split', (_, wire) => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: wire.byteLength }), { maxLength: 12 }), (cuts) => {
        const { head, body, complete, rest } = parse(wire, cuts);
        expect(head?.status).toBe(206);
        expect(head?.headers.get('content-range')).toBe('bytes 0-9/100');
        expect(head?.headers.get('set-cookie')).toBe('a, b');
        expect(head?.keepAlive).toBe(true);
        expect(body).toEqual(PAYLOAD);
        expect(complete).toBe(true);
        expect(rest).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('finds the end of the head at the first CRLFCRLF, however CRs and LFs fall and the bytes are split', () => {
    const byte = fc.constantFrom(13, 10, 97, 58);
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.array(fc.nat({ max: 60 }), { maxLength: 6 }), (tail, cuts) => {
        const wire = Uint8Array.from([...text.encode('HTTP/1.1 200 OK\r\n'), ...tail]);
        const end = Buffer.from(wire).indexOf('\r\n\r\n');
        const parser = new ResponseParser('GET');
        const edges = [...new Set(cuts.map((c) => c % (wire.byteLength + 1)))].sort((a, b) => a - b);
        let used = 0;
        let found = false;
        let from = 0;
        for (const to of [...edges, wire.byteLength]) {
          if (found) break;
          const piece = wire.subarray(from, to);
          from = to;
          try {
            used += parser.feedHead(piece);
            found = parser.head !== undefined;
          } catch (error) {
            expect(error).toBeInstanceOf(HttpParseError);
            // It throws only once it has the whole head: the bytes up to its end.
            used = -1;
            found = true;
          }
        }
        if (end < 0) expect([found, used]).toEqual([false, wire.byteLength]);
        else if (used >= 0) expect(used).toBe(end + 4);
        else expect(found).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a body to the end of the connection ends there, and is not kept alive', () => {
    const { head, body, complete } = parse(text.encode(`${HEAD}\r\n0123456789`), [], 'GET', true);
    expect(head?.keepAlive).toBe(false);
    expect(body).toEqual(PAYLOAD);
    expect(complete).toBe(true);
  });

  it('HEAD, 204 and 304 have no body whatever Content-Length says', () => {
    expect(parse(text.encode('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'), [], 'HEAD').complete).toBe(true);
    expect(parse(text.encode('HTTP/1.1 204 No Content\r\n\r\n')).complete).toBe(true);
    expect(parse(text.encode('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n')).complete).toBe(true);
  });

  it('stops where the consumer says, and goes on from there', () => {
    const parser = new ResponseParser('GET');
    const wire = text.encode('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789');
    const used = parser.feedHead(wire);
    const seen: string[] = [];
    const first = parser.feedBody(wire.subarray(used, used + 4), (p) => (seen.push(new TextDecoder().decode(p)), false));
    expect(first).toBe(4);
    parser.feedBody(wire.subarray(used + 4), (p) => (seen.push(new TextDecoder().decode(p)), true));
    expect(seen).toEqual(['0123', '456789']);
    expect(parser.complete).toBe(true);
  });

  it('HTTP/1.0 is kept alive only when it says so; Connection: close is not', () => {
    expect(parse(text.encode('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).head?.keepAlive).toBe(false);
    expect(parse(text.encode('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).head?.keepAlive).toBe(true);
    expect(parse(text.encode('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).head?.keepAlive).toBe(false);
  });

  it.each([
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
    ['a bad header line', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a huge Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n'],
    ['Transfer-Encoding and Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a chunk without CRLF after it', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n'],
  ])('refuses %s with HttpParseError', (_, wire) => {
    expect(() => parse(text.encode(wire))).toThrow(HttpParseError);
  });

  it('refuses a head longer than MAX_HEAD_BYTES, fed in pieces', () => {
    const parser = new ResponseParser('GET');
    const line = text.encode(`X-Filler: ${'a'.repeat(1000)}\r\n`);
    parser.feedHead(text.encode('HTTP/1.1 200 OK\r\n'));
    expect(() => {
      for (let i = 0; i <= MAX_HEAD_BYTES / line.byteLength; i++) parser.feedHead(line);
    }).toThrow(HttpParseError);
  });

  it('refuses a head longer than MAX_HEAD_BYTES that arrives whole', () => {
    const wire = text.encode(`HTTP/1.1 200 OK\r\n${`X-Filler: ${'a'.repeat(1000)}\r\n`.repeat(70)}\r\n`);
    expect(() => new ResponseParser('GET').feedHead(wire)).toThrow(HttpParseError);
  });

  it('a connection that ends mid-body or before a response is an error', () => {
    expect(() => parse(text.encode('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234'), [], 'GET', true)).toThrow(HttpParseError);
    expect(() => parse(text.encode('HTTP/1.1 200'), [], 'GET', true)).toThrow(HttpParseError);
  });
});
