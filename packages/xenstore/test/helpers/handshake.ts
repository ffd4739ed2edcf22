import { connect, type Server } from '../../src/index.js';

/** What @blk/xen-ring declares for itself; the handshake below uses nothing else. */
export interface XenbusHandle {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
  directory(path: string): Promise<string[]>;
  rm(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  getdomainpath(domid: number): Promise<string>;
}
export interface XenbusStore {
  immediate<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T>;
  transaction<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T>;
  wait<T>(fn: (h: XenbusHandle) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

const notYet = () => Object.assign(new Error('not yet'), { name: 'Eagain' });

export interface HandshakePaths {
  readonly front: string;
  readonly back: string;
}

/**
 * A blkif-style XenBus handshake, frontend as domain `domid`, backend and toolstack as dom0,
 * with libxl's permissions: the frontend may read the backend's directory and vice versa.
 */
export async function runHandshake(server: Server, domid: number, signal: AbortSignal): Promise<HandshakePaths> {
  // The toolstack is not xen-ring: it uses the full client (setperms).
  const toolstack = await connect({ stream: server.connectAs(0) });
  const backend: XenbusStore = await connect({ stream: server.connectAs(0) });
  const frontend: XenbusStore = await connect({ stream: server.connectAs(domid) });
  const devid = 51712;
  const front = `${await toolstack.immediate((x) => x.getdomainpath(domid))}/device/vbd/${devid}`;
  const back = `/local/domain/0/backend/vbd/${domid}/${devid}`;
  const closers = [toolstack, backend, frontend] as { close(): Promise<void> }[];
  try {
    await toolstack.transaction(async (x) => {
      await x.mkdir(front);
      await x.setperms(`/local/domain/${domid}`, [`n${domid}`]);
      await x.setperms(front, [`n${domid}`, 'r0']);
      await x.write(`${front}/backend`, back);
      await x.write(`${front}/backend-id`, '0');
      await x.write(`${front}/state`, '1');
      await x.mkdir(back);
      await x.setperms(back, ['n0', `r${domid}`]);
      await x.write(`${back}/frontend`, front);
      await x.write(`${back}/frontend-id`, String(domid));
      await x.write(`${back}/params`, 'ram:16M');
      await x.write(`${back}/state`, '1');
    });
    const backendSide = (async () => {
      await backend.transaction(async (x) => {
        await x.write(`${back}/feature-max-indirect-segments`, '256');
        await x.write(`${back}/max-ring-page-order`, '2');
        await x.write(`${back}/state`, '2');
      });
      const transport = await backend.wait(
        async (x) => {
          const state = await x.read(`${front}/state`);
          if (state !== '3' && state !== '4') throw notYet();
          return { ring: await x.read(`${front}/ring-ref`), channel: await x.read(`${front}/event-channel`) };
        },
        { signal },
      );
      await backend.transaction(async (x) => {
        await x.write(`${back}/sectors`, '32768');
        await x.write(`${back}/sector-size`, '512');
        await x.write(`${back}/info`, '0');
        await x.write(`${back}/hotplug-status`, 'connected');
        await x.write(`${back}/state`, '4');
      });
      return transport;
    })();
    const frontendSide = (async () => {
      const backPath = await frontend.immediate((x) => x.read('device/vbd/51712/backend'));
      const order = await frontend.wait(
        async (x) => {
          if ((await x.read(`${backPath}/state`)) !== '2') throw notYet();
          return Number(await x.read(`${backPath}/max-ring-page-order`));
        },
        { signal },
      );
      // mirage-style: transport keys and state 4 in one transaction.
      await frontend.transaction(async (x) => {
        await x.write('device/vbd/51712/ring-ref', '8');
        await x.write('device/vbd/51712/event-channel', '17');
        await x.write('device/vbd/51712/protocol', 'x86_64-abi');
        await x.write('device/vbd/51712/ring-page-order', String(Math.min(order, 2)));
        await x.write('device/vbd/51712/state', '4');
      });
      return frontend.wait(
        async (x) => {
          if ((await x.read(`${backPath}/state`)) !== '4') throw notYet();
          return Number(await x.read(`${backPath}/sectors`));
        },
        { signal },
      );
    })();
    const [transport, sectors] = await Promise.all([backendSide, frontendSide]);
    if (transport.ring !== '8' || transport.channel !== '17' || sectors !== 32768) throw new Error('handshake values wrong');
    return { front, back };
  } finally {
    await Promise.all(closers.map((c) => c.close()));
  }
}
