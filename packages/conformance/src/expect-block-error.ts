import { isBlockError, type BlockErrorCode } from '@blk/core';
import { expect } from 'vitest';

/** Awaits `promise` and asserts it rejected with a BlockError of `code`. */
export async function expectBlockError(promise: Promise<unknown>, code: BlockErrorCode): Promise<void> {
  let outcome: unknown;
  try {
    await promise;
    outcome = 'resolved';
  } catch (e) {
    outcome = e;
  }
  if (outcome === 'resolved') expect.fail(`expected a rejection with ${code}, but it resolved`);
  if (!isBlockError(outcome)) {
    expect.fail(`expected a BlockError ${code}, got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
  }
  expect(outcome.code, outcome.message).toBe(code);
}
