import { waitFor } from '@blk/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '../src/index.js';
import { code, startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
let dom0: Client;
beforeEach(async () => {
  h = await startHarness({ listen: false, quotas: { nodes: 20, watches: 4, transactions: 2, transactionNodes: 30 } });
  dom0 = await h.client(0);
  await dom0.immediate(async (x) => {
    await x.mkdir('/local/domain/5');
    await x.setperms('/local/domain/5', ['n5']);
  });
});
afterEach(async () => {
  await h.close();
});

describe('quotas on unprivileged domains (C names: ENOSPC, E2BIG)', () => {
  it('node count per domain: ENOSPC past the quota, nothing half-created', async () => {
    const guest = await h.client(5);
    // The domain already owns /local/domain/5.
    for (let i = 0; i < 19; i++) await guest.immediate((x) => x.write(`n${i}`, ''));
    expect(await code(guest.immediate((x) => x.write('one/too/many', '')))).toBe('ENOSPC');
    expect(await guest.immediate((x) => x.exists('one'))).toBe(false);
    await guest.immediate((x) => x.rm('n0'));
    await guest.immediate((x) => x.write('fits', ''));
    // dom0 is exempt.
    for (let i = 0; i < 30; i++) await dom0.immediate((x) => x.write(`/free/${i}`, ''));
  });

  it('node size: a value making the record reach 2048 bytes is refused', async () => {
    const guest = await h.client(5);
    await guest.immediate((x) => x.write('small', 'x'.repeat(2048 - 24 - 8 - 1)));
    expect(await code(guest.immediate((x) => x.write('big', 'x'.repeat(2048 - 24 - 8))))).toBe('ENOSPC');
    await dom0.immediate((x) => x.write('/local/domain/5/dom0-big', 'x'.repeat(4000)));
  });

  it('watches per domain: E2BIG past the quota', async () => {
    const guest = await h.client(5);
    const other = await h.client(5);
    for (let i = 0; i < 2; i++) await guest.immediate((x) => x.watch(`w${i}`, 't'));
    for (let i = 2; i < 4; i++) await other.immediate((x) => x.watch(`w${i}`, 't'));
    expect(await code(guest.immediate((x) => x.watch('w9', 't')))).toBe('E2BIG');
    await other.immediate((x) => x.unwatch('w2', 't'));
    await guest.immediate((x) => x.watch('w9', 't'));
  });

  it('open transactions per connection: ENOSPC past the quota', async () => {
    const guest = await h.client(5);
    const release: (() => void)[] = [];
    const hold = () =>
      guest.transaction(
        () =>
          new Promise<void>((resolve) => {
            release.push(resolve);
          }),
      );
    const first = hold();
    const second = hold();
    await waitFor(() => release.length === 2, 'both transactions to be open');
    expect(await code(guest.transaction(async () => undefined))).toBe('ENOSPC');
    for (const r of release) r();
    await Promise.all([first, second]);
  });

  it('permissions per node: ENOSPC past 5 entries', async () => {
    const guest = await h.client(5);
    await guest.immediate((x) => x.write('p', ''));
    await guest.immediate((x) => x.setperms('p', ['n5', 'r1', 'r2', 'r3', 'r4']));
    expect(await code(guest.immediate((x) => x.setperms('p', ['n5', 'r1', 'r2', 'r3', 'r4', 'r6'])))).toBe('ENOSPC');
  });

  it('nodes touched by one transaction: ENOSPC past the quota', async () => {
    const guest = await h.client(5);
    await dom0.immediate(async (x) => {
      for (let i = 0; i < 40; i++) await x.write(`/local/domain/5/t/${i}`, '');
      await x.setperms('/local/domain/5/t', ['n5']);
    });
    const result = await code(
      guest.transaction(async (x) => {
        for (let i = 0; i < 40; i++) await x.read(`t/${i}`);
      }),
    );
    expect(result).toBe('ENOSPC');
  });

  it('quotas can be changed at run time with CONTROL quota set', async () => {
    const guest = await h.client(5);
    await dom0.immediate((x) => x.debug(['quota', 'set', 'watches', '1']));
    await guest.immediate((x) => x.watch('a', 't'));
    expect(await code(guest.immediate((x) => x.watch('b', 't')))).toBe('E2BIG');
    const report = await dom0.immediate((x) => x.debug(['quota', '5']));
    expect(report.join('')).toMatch(/watches\s+:\s+1\n/);
  });
});
