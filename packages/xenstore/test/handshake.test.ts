import { waitFor } from '@blk/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { runHandshake } from './helpers/handshake.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ listen: false });
});
afterEach(async () => {
  await h.close();
});

describe('a XenBus handshake through the server (frontend as domain 5, backend as dom0)', () => {
  it('completes using only the XenbusStore shape, with libxl-style permissions', async () => {
    const { front, back } = await runHandshake(h.server, 5, AbortSignal.timeout(10_000));
    const dom0 = await h.client(0);
    expect(await dom0.immediate((x) => x.read(`${front}/state`))).toBe('4');
    expect(await dom0.immediate((x) => x.read(`${back}/state`))).toBe('4');
    expect((await dom0.immediate((x) => x.getperms(`${front}/ring-ref`)))[0]).toEqual({ domid: 5, access: 'n' });
    // Another guest sees none of it.
    const other = await connect({ stream: h.server.connectAs(6) });
    await expect(other.immediate((x) => x.read(`${front}/state`))).rejects.toMatchObject({ code: 'EACCES' });
    await expect(other.immediate((x) => x.read(`${back}/state`))).rejects.toMatchObject({ code: 'EACCES' });
    await other.close();
    // Waits cleaned up after themselves.
    const report = (await dom0.immediate((x) => x.debug(['quota', '5']))).join('');
    expect(report).toMatch(/watches\s+:\s+0\n/);
  });

  it('releasing the guest removes what it owns and tells @releaseDomain watchers', async () => {
    await runHandshake(h.server, 7, AbortSignal.timeout(10_000));
    const dom0 = await h.client(0);
    const released: string[] = [];
    dom0.onWatch((e) => released.push(e.path));
    await dom0.immediate((x) => x.watch('@releaseDomain', 'r'));
    await dom0.immediate((x) => x.release(7));
    expect(await dom0.immediate((x) => x.exists('/local/domain/7'))).toBe(false);
    expect(await dom0.immediate((x) => x.exists('/local/domain/0/backend/vbd/7/51712/state'))).toBe(true);
    await waitFor(() => released.length >= 2, 'the two @releaseDomain events');
    expect(released).toEqual(['@releaseDomain', '@releaseDomain']);
  });
});
