import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InlineWrites, MAX_INLINE_WRITE, WRITE_STALL_MS } from '../src/inline-writes.js';

describe('InlineWrites (when a write may run on the event loop)', () => {
  it('allows only whole pages, up to MAX_INLINE_WRITE, while enabled', () => {
    const policy = new InlineWrites(4096, true);
    expect(policy.allows(0, 4096, 0)).toBe(true);
    expect(policy.allows(8192, MAX_INLINE_WRITE, 0)).toBe(true);
    expect(policy.allows(0, MAX_INLINE_WRITE + 4096, 0)).toBe(false);
    expect(policy.allows(512, 4096, 0)).toBe(false);
    expect(policy.allows(0, 512, 0)).toBe(false);
    expect(policy.allows(0, 0, 0)).toBe(false);
    expect(new InlineWrites(4096, false).allows(0, 4096, 0)).toBe(false);
    expect(new InlineWrites(0, true).allows(0, 4096, 0)).toBe(false);
    policy.disable();
    expect(policy.allows(0, 4096, 0)).toBe(false);
    expect(policy.resumeAt).toBe(Infinity);
  });

  it('a write that slept stops inline writes for 100 ms, doubling while stalls recur, forgiven after a run that did not', () => {
    const policy = new InlineWrites(4096, true);
    policy.took(0.5, 1000); // slept, but briefly: nothing changes
    expect(policy.resumeAt).toBe(0);
    policy.took(WRITE_STALL_MS + 2, 1003);
    expect(policy.resumeAt).toBe(1103);
    expect(policy.allows(0, 4096, 1102)).toBe(false);
    expect(policy.allows(0, 4096, 1103)).toBe(true);
    policy.took(5, 1108);
    expect(policy.resumeAt).toBe(1108 + 200);
    policy.took(0, 1309); // did not wait, but not yet a whole back-off since resuming
    policy.took(3, 1403);
    expect(policy.resumeAt).toBe(1403 + 400);
    policy.took(0, 1804);
    policy.took(0, 1803 + 401); // a back-off's worth of writes that did not wait: forgiven
    policy.took(3, 3003);
    expect(policy.resumeAt).toBe(3103);
  });

  it('whatever the waits, inline writes are off for [stall, stall + back-off) and the back-off stays within 100 ms – 5 s', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0, max: 10, noNaN: true })), { maxLength: 60 }),
        (events) => {
          const policy = new InlineWrites(4096, true);
          let now = 0;
          for (const [gap, waited] of events) {
            now += gap;
            if (!policy.allows(0, 4096, now)) continue;
            now += waited;
            policy.took(waited, now);
            if (waited > WRITE_STALL_MS) {
              const backoff = policy.resumeAt - now;
              expect(backoff).toBeGreaterThanOrEqual(100);
              expect(backoff).toBeLessThanOrEqual(5000);
              expect(policy.allows(0, 4096, now + backoff - 0.001)).toBe(false);
              expect(policy.allows(0, 4096, now + backoff)).toBe(true);
            }
          }
        },
      ),
    );
  });
});
