import { Duplex } from 'node:stream';

/**
 * Two connected in-memory duplex streams: what one writes, the other reads. Ending one side ends
 * the other's readable side; destroying one destroys both.
 *
 * Backpressure works as over a socket: a write completes only once the reader's buffer has room
 * (below `highWaterMark`), so a side that does not read makes the other's `write` return false,
 * its `writableLength` grow and, once read again, its 'drain' fire.
 */
export function duplexPair(highWaterMark = 16 * 1024): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  /** A write of side i waiting for side 1 − i to read. */
  const parked: ((() => void) | undefined)[] = [undefined, undefined];
  const make = (me: 0 | 1) => {
    const peer = () => ends[1 - me]!;
    return new Duplex({
      highWaterMark,
      read() {
        const resume = parked[1 - me];
        if (resume) {
          parked[1 - me] = undefined;
          resume();
        }
      },
      write(chunk: Buffer, _encoding, callback) {
        const other = peer();
        if (other.destroyed) {
          callback(new Error('peer is closed'));
          return;
        }
        // Deliver on a later tick (in order), so neither side re-enters the other's handlers.
        process.nextTick(() => {
          if (other.destroyed) {
            callback();
            return;
          }
          if (other.push(chunk)) callback();
          else parked[me] = () => callback();
        });
      },
      final(callback) {
        const other = peer();
        process.nextTick(() => {
          if (!other.destroyed) other.push(null);
        });
        callback();
      },
      destroy(error, callback) {
        parked[0] = undefined;
        parked[1] = undefined;
        const other = peer();
        if (!other.destroyed) {
          other.push(null);
          other.destroy();
        }
        callback(error);
      },
    });
  };
  ends.push(make(0), make(1));
  return [ends[0]!, ends[1]!];
}
