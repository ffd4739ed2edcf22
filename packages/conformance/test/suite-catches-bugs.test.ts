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

  it('passes a correct device', () => {
    expect(failures('correct')).toEqual([]);
    expect(results.filter((r) => r.fullName.startsWith('correct') && r.status === 'passed').length).toBeGreaterThan(30);
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
  ])('catches a device with the %s bug', (bug, expected) => {
    const failed = failures(`bug:${bug}`);
    expect(failed.some((name) => expected.test(name)), `failed tests: ${failed.join('; ') || 'none'}`).toBe(true);
  });
});
