/**
 * `pnpm soak`: a well-behaved client (4 workers reading 4 KiB at random offsets, each connecting
 * anew every 100 reads so that connection slots matter) runs alone, then beside one attacker, for
 * each kind of attack; prints its median rate ratio, the server's worst event-loop stall and peak
 * RSS during the attack, and the server's counters. Server, attackers and client are three
 * processes. A benchmark, not a test. SOAK_ROUNDS (default 3) rounds of SOAK_MS (default 1500) ms
 * each; SOAK_ATTACKS=a,b picks some.
 */
import { fileURLToPath } from 'node:url';
import { makeTempDir, measureAttack, reportSoak, SoakChild, type SoakRow } from '@blk/test-kit';
import { connect, type NbdDevice } from '../src/index.js';

const PHASE_MS = Number(process.env.SOAK_MS ?? 1500);
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 3);
const dir = makeTempDir('blk-nbd-soak-');
const socket = `${dir.path}/nbd.sock`;
const secureSocket = `${dir.path}/nbds.sock`;
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const server = await SoakChild.start(here('./soak-server.ts'), [socket, secureSocket]);
const port = String(((await server.request({})) as { port: number }).port);
const attacker = await SoakChild.start(here('./soak-attacker.ts'), [socket, secureSocket, port]);

const SECTORS = (64 << 20) / 512;
async function worker(end: number): Promise<number> {
  let done = 0;
  const buffer = new Uint8Array(4096);
  while (performance.now() < end) {
    const device: NbdDevice = await connect({ path: socket });
    for (let i = 0; i < 100 && performance.now() < end; i++) {
      await device.read(Math.floor(Math.random() * (SECTORS / 8)) * 8, [buffer]);
      done++;
    }
    await device.disconnect();
  }
  return done;
}
async function run(): Promise<number> {
  const start = performance.now();
  const counts = await Promise.all([0, 1, 2, 3].map(() => worker(start + PHASE_MS)));
  return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - start);
}

await run(); // warm-up
const rows: SoakRow[] = [];
const ATTACKS = ['list-flood', 'tls-required-flood', 'slot-hog'];
for (const attack of ATTACKS.filter((a) => (process.env.SOAK_ATTACKS ?? a).split(',').includes(a))) {
  rows.push(
    await measureAttack(attack, {
      rounds: ROUNDS,
      server,
      run,
      start: async () => {
        await attacker.request({ start: attack });
      },
      notes: async () => {
        const { stats, secureStats } = (await server.request({})) as { stats: Record<string, number>; secureStats: Record<string, number> };
        const s = attack === 'tls-required-flood' ? secureStats : stats;
        return `peak handshake queue ${(s.peakHandshakeQueuedBytes! / 1024).toFixed(0)} KiB, ${s.handshakeStalls} stalls, ${s.refusedConnections} refused (totals)`;
      },
      stop: async () => {
        await attacker.request({ stop: true });
      },
    }),
  );
}
reportSoak('@blk/nbd soak (normal client beside one attacker; rates are 4 KiB reads)', rows);
await attacker.stop();
await server.stop();
dir.remove();
