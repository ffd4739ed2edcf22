import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, Eagain } from '@blk/xenstore';

const dir = await mkdtemp(join(tmpdir(), 'blk-xs-'));
const socket = join(dir, 'xenstored.sock');
const server = await createServer({ persist: join(dir, 'xenstore.json') }).listen(socket);
// Debian's tools work against it: XENSTORED_PATH=$socket xenstore-ls -f -p

const dom0 = await connect({ path: socket });
await dom0.immediate(async (x) => {
  await x.write('/local/domain/5/name', 'guest');
  await x.setperms('/local/domain/5', ['n5']); // owned by domain 5, no access for other guests
});

// Read-modify-write; re-run automatically if another writer got in between (EAGAIN).
await dom0.transaction(async (x) => {
  const n = Number(await x.read('/counter').catch(() => '0'));
  await x.write('/counter', String(n + 1));
});

// A guest, in process, as unprivileged domain 5 (relative paths resolve under /local/domain/5).
const guest = await connect({ stream: server.connectAs(5) });
const connected = guest.wait(
  async (x) => {
    const path = 'device/vbd/51712/state';
    // Not there yet, or not 4 yet: run again when something read here changes (a missing node too).
    if (!(await x.exists(path)) || (await x.read(path)) !== '4') throw new Eagain();
    return 'connected';
  },
  { signal: AbortSignal.timeout(10_000) },
);

await dom0.immediate((x) => x.write('/local/domain/5/device/vbd/51712/state', '4')); // the backend connects
console.log(await connected);

await guest.close();
await dom0.close();
await server.close();
await rm(dir, { recursive: true });
