import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@blk/test-kit';
import { beforeAll, describe, expect, it } from 'vitest';

interface JsonReport {
  testResults: { assertionResults: { fullName: string; status: string }[] }[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
let results: { fullName: string; status: string }[] = [];

/** Which tests failed for the device registered under `name`. */
function failures(name: string): string[] {
  const prefix = `${name} conforms`;
  return results.filter((r) => r.fullName.startsWith(prefix) && r.status === 'failed').map((r) => r.fullName.slice(prefix.length));
}

describe('the conformance suite', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blk-suite-'));
    try {
      const out = join(dir, 'report.json');
      const vitest = join(root, 'node_modules', '.bin', 'vitest');
      await run(vitest, ['run', '--config', 'test/fixtures/vitest.fixture.config.ts', '--reporter=json', `--outputFile=${out}`], {
        cwd: root,
        timeoutMs: 120_000,
      });
      const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
      results = report.testResults.flatMap((f) => f.assertionResults);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('ran every registered test', () => {
    expect(results.length).toBeGreaterThan(300);
  });

  it.each(['correct', 'correct persistent', 'correct persistent with fua', 'correct read-only'])('passes the %s device', (name) => {
    expect(failures(name)).toEqual([]);
    expect(results.filter((r) => r.fullName.startsWith(`${name} conforms`) && r.status === 'passed').length).toBeGreaterThan(20);
  });

  it('runs the new groups on the correct devices rather than skipping them', () => {
    const passed = (name: string, test: RegExp) =>
      results.some((r) => r.fullName.startsWith(`${name} conforms`) && test.test(r.fullName) && r.status === 'passed');
    expect(passed('correct', /keeps every sector whole under overlapping writes/)).toBe(true);
    expect(passed('correct', /turns a failing read below into an IO error/)).toBe(true);
    expect(passed('correct', /moves more than 32 MiB in one call/)).toBe(true);
    expect(passed('correct persistent', /keeps flushed writes, zeroes, overwrites and a resize/)).toBe(true);
    expect(passed('correct persistent with fua', /keeps a write acknowledged with FUA/)).toBe(true);
    expect(passed('correct read-only', /declare false for every write-type flag, read over their whole range/)).toBe(true);
  });

  it.each([
    ['noRangeCheck', /refuses a sector that is the size/],
    ['aliasWrites', /keeps no reference to a buffer/],
    ['staleReads', /overwrites every byte of the buffers it reads into/],
    ['lyingSeek', /never calls sectors holding data "guaranteed zero"/],
    ['resizeKeepsData', /growing back reads zeroes in the regained range/],
    ['aliveAfterDisconnect', /makes every other method reject with DISCONNECTED/],
    ['flagWithoutMethod', /has each optional method exactly when its flag is set/],
    ['partialWriteOnBadBuffer', /refuses buffers given as a good buffer then a bad one/],
    ['ackBeforeStore', /sees a write in every read that starts after it resolved|round-trips 1 sector/],
    ['tornSectors', /keeps every sector whole under overlapping writes/],
    ['lazyFlush', /keeps flushed writes, zeroes, overwrites and a resize across disconnect and reopen/],
    ['readOnlyWriteFlags', /declare false for every write-type flag/],
    ['swallowedError', /turns a failing read below into an IO error, never into data/],
    ['persistentWithoutReopen', /keeps flushed writes/],
  ])('catches a device with the %s bug', (bug, expected) => {
    const failed = failures(`bug:${bug}`);
    expect(
      failed.some((name) => expected.test(name)),
      `failed tests: ${failed.join('; ') || 'none'}`,
    ).toBe(true);
  });
});
