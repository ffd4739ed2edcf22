import { describe, expect, it } from 'vitest';
import { findPeer, median, percentile, ratioOf, run, runOk, startProcess, waitFor } from '../src/index.js';

describe('test-kit', () => {
  it('computes medians and percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
  });

  it('turns ratios so that above 1 is better', () => {
    const base = { name: 'x', unit: 'u', anchor: 'a' };
    expect(ratioOf({ ...base, value: 200, anchorValue: 100, higherIsBetter: true })).toBe(2);
    expect(ratioOf({ ...base, value: 50, anchorValue: 100, higherIsBetter: false })).toBe(2);
  });

  it('finds programs on PATH and not made-up ones', () => {
    expect(findPeer('sh')).toMatch(/\/sh$/);
    expect(findPeer('no-such-program-blk')).toBeUndefined();
  });

  it('runs programs with a time bound and reports failures', async () => {
    expect((await runOk('sh', ['-c', 'echo hi'])).stdout).toBe('hi\n');
    const slow = await run('sleep', ['5'], { timeoutMs: 100 });
    expect(slow.signal).toBe('SIGKILL');
    await expect(runOk('sh', ['-c', 'exit 3'])).rejects.toThrow(/exited 3/);
  });

  it('starts and stops a long-running process', async () => {
    const p = startProcess('sh', ['-c', 'echo ready; sleep 30']);
    await waitFor(() => p.output().includes('ready'), 'ready line');
    await p.stop();
    expect(p.child.signalCode).toBe('SIGTERM');
  });
});
