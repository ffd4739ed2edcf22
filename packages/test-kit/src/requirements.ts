import { describe, it, type TestFunction } from 'vitest';

/**
 * Why a block of tests cannot run here (a program, a built `dist/`, the native addon is missing),
 * or `undefined` when it can.
 */
export type Missing = string | undefined;

/** CI sets BLK_REQUIRE_PEERS=1: then a missing peer, build or addon fails instead of skipping. */
export function peersRequired(): boolean {
  return process.env.BLK_REQUIRE_PEERS === '1';
}

function failure(missing: string): Error {
  return new Error(`${missing}; BLK_REQUIRE_PEERS=1 (CI) makes this a failure`);
}

/**
 * `describe` that runs `body` when nothing is missing. Otherwise every test of `body` is still
 * collected and reported skipped one by one (so a report counts what the skip hides), with the
 * reason in the block's title; under BLK_REQUIRE_PEERS=1 a failing test names what is missing.
 */
export function describeWhen(title: string, missing: Missing, body: () => void): void {
  if (missing === undefined) {
    describe(title, body);
  } else if (peersRequired()) {
    describe(title, () => {
      it(`has what it needs: ${missing}`, () => {
        throw failure(missing);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${missing}`, body);
  }
}

/** `it` under the same rule as {@link describeWhen}: runs, skips with the reason, or fails in CI. */
export function itWhen(missing: Missing): (title: string, fn: TestFunction, timeout?: number) => void {
  return (title, fn, timeout) => {
    if (missing === undefined) it(title, fn, timeout);
    else if (peersRequired())
      it(title, () => {
        throw failure(missing);
      });
    else it.skip(`${title} — skipped: ${missing}`, fn);
  };
}
