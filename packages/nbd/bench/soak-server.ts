/**
 * The server side of `pnpm soak`: one NbdServer over a 64 MiB ramdisk on a Unix socket (argv[2])
 * and on TCP 127.0.0.1 (port reported), another requiring TLS on argv[3], and the probe the
 * parent reads (worst event-loop stall, peak RSS).
 */
import { Ramdisk } from '@blk/ramdisk';
import { answerRequests, startServerProbe } from '@blk/test-kit';
import { createServer } from '../src/index.js';

const disk = new Ramdisk({ sizeSectors: (64 << 20) / 512 });
const exports: Record<string, { device: Ramdisk; description: string }> = { '': { device: disk, description: 'soak disk' } };
// Long descriptions make each NBD_OPT_LIST answer about 32 KiB.
for (let i = 0; i < 8; i++) exports[`extra-${i}`] = { device: new Ramdisk({ sizeSectors: 8 }), description: 'd'.repeat(4000) };
const plain = createServer({ exports, onError: () => undefined });
const secure = createServer({ exports, tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 7) } }, onError: () => undefined });
await plain.listen({ path: process.argv[2]! });
const tcp = await plain.listen({ host: '127.0.0.1', port: 0 });
await secure.listen({ path: process.argv[3]! });
startServerProbe();

const tcpPort = 'port' in tcp ? tcp.port : 0;
answerRequests(async () => ({ stats: plain.stats(), secureStats: secure.stats(), port: tcpPort }));
process.send?.({ ready: true });
