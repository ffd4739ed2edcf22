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

  it('a slow write stops inline writes for 100 ms, doubling while stalls recur, forgiven after a fast run', () => {
    const policy = new InlineWrites(4096, true);
    policy.took(1000, 1000 + WRITE_STALL_MS + 1);
    expect(policy.resumeAt).toBe(1103);
    expect(policy.allows(0, 4096, 1102)).toBe(false);
    expect(policy.allows(0, 4096, 1103)).toBe(true);
    policy.took(1103, 1103 + 5);
    expect(policy.resumeAt).toBe(1108 + 200);
    policy.took(1308, 1309); // fast, but not yet a whole back-off since resuming
    policy.took(1400, 1400 + 3);
    expect(policy.resumeAt).toBe(1403 + 400);
    policy.took(1803, 1804);
    policy.took(1803 + 400, 1803 + 401); // a back-off's worth of fast writes: forgiven
    policy.took(3000, 3000 + 3);
    expect(policy.resumeAt).toBe(3103);
  });

  it('whatever the durations, inline writes are off for [stall, stall + back-off) and the back-off stays within 100 ms – 5 s', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0, max: 10, noNaN: true })), { maxLength: 60 }),
        (events) => {
          const policy = new InlineWrites(4096, true);
          let now = 0;
          for (const [gap, duration] of events) {
            now += gap;
            if (!policy.allows(0, 4096, now)) continue;
            policy.took(now, now + duration);
            now += duration;
            if (duration > WRITE_STALL_MS) {
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
