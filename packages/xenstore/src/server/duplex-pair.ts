import { Duplex } from 'node:stream';

/**
 * Two connected in-memory duplex streams: what one writes, the other reads. Ending one side ends
 * the other's readable side; destroying one destroys both.
 */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {
        // data is pushed by the peer's writes
      },
      write(chunk: Buffer, _encoding, callback) {
        const other = peer();
        if (other.destroyed) {
          callback(new Error('peer is closed'));
          return;
        }
        // Deliver on a later tick (in order), so neither side re-enters the other's handlers.
        process.nextTick(() => {
          if (!other.destroyed) other.push(chunk);
        });
        callback();
      },
      final(callback) {
        const other = peer();
        process.nextTick(() => {
          if (!other.destroyed) other.push(null);
        });
        callback();
      },
      destroy(error, callback) {
        const other = peer();
        if (!other.destroyed) {
          other.push(null);
          other.destroy();
        }
        callback(error);
      },
    });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}
