import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, runOk } from '@blk/test-kit';
import { runHandshake } from '../helpers/handshake.js';
import { startHarness, type Harness } from '../helpers/harness.js';

describeWithPeers('C tools inspect a handshake made through our server', ['xenstore-ls', 'xenstore-read'], (bin) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('xenstore-ls -f -p shows device/vbd and backend/vbd with their permissions', async () => {
    await runHandshake(h.server, 3, AbortSignal.timeout(10_000));
    const env = { ...process.env, XENSTORED_PATH: h.socket };
    const front = (await runOk(bin['xenstore-ls']!, ['-f', '-p', '/local/domain/3/device/vbd'], { env })).stdout;
    expect(front).toMatch(/^\/local\/domain\/3\/device\/vbd\/51712\/state = "4" .*\(n3,r0\)$/m);
    expect(front).toMatch(/^\/local\/domain\/3\/device\/vbd\/51712\/protocol = "x86_64-abi" .*\(n3,r0\)$/m);
    const back = (await runOk(bin['xenstore-ls']!, ['-f', '-p', '/local/domain/0/backend/vbd/3'], { env })).stdout;
    expect(back).toMatch(/^\/local\/domain\/0\/backend\/vbd\/3\/51712\/sectors = "32768" .*\(n0,r3\)$/m);
    expect((await runOk(bin['xenstore-read']!, ['backend/vbd/3/51712/state'], { env })).stdout).toBe('4\n');
  });
});
