import { describe, expect, it } from 'vitest';
import { ProgressBar, type ProgressStream } from '../src/progress-bar.js';

function capture(isTTY: boolean, columns = 100): ProgressStream & { text: string } {
  const stream = {
    text: '',
    isTTY,
    columns,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

const MiB = 2 ** 20;

describe('ProgressBar', () => {
  it('prints a plain line at every 10 % when the stream is not a terminal', () => {
    const stream = capture(false);
    let now = 0;
    const bar = new ProgressBar({ label: 'copy', stream, now: () => now });
    expect(bar.mode).toBe('lines');
    for (let done = 0; done <= 100; done++) {
      now = done * 10; // 1 MiB per 10 ms: 100 MiB/s
      bar.update(done * MiB, 100 * MiB);
    }
    bar.finish();
    const lines = stream.text.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('copy: 10%  10.0 MiB / 100 MiB  100 MiB/s  ETA 1s');
    expect(lines[4]).toBe('copy: 50%  50.0 MiB / 100 MiB  100 MiB/s  ETA 1s');
    expect(lines[9]).toBe('copy: 100%  100 MiB / 100 MiB  100 MiB/s  ETA 0s');
    expect(stream.text).not.toContain('\r');
  });

  it('ends with a 100 % line even when the last update fell short of a step', () => {
    const stream = capture(false);
    let now = 0;
    const bar = new ProgressBar({ label: 'copy', stream, now: () => now });
    now = 1000;
    bar.update(5, 100);
    bar.finish();
    expect(stream.text).toBe('copy: 100%  100 B / 100 B  100 B/s  ETA 0s\n');
  });

  it('redraws one line in place on a terminal, no more often than asked', () => {
    const stream = capture(true, 100);
    let now = 0;
    const bar = new ProgressBar({ label: 'copy', stream, now: () => now, redrawMs: 100 });
    expect(bar.mode).toBe('bar');
    for (let i = 0; i <= 20; i++) {
      now = i * 50;
      bar.update(i * 5 * MiB, 100 * MiB);
    }
    bar.finish();
    const frames = stream.text.split('\r').filter((f) => f !== '');
    // 21 updates 50 ms apart, drawn every 100 ms (11), plus the final frame.
    expect(frames).toHaveLength(12);
    for (const frame of frames) expect(frame.replace(/\n$/, '').endsWith('\x1b[K')).toBe(true);
    expect(frames[0]).toContain('[----------');
    expect(frames[0]).toContain('0.0%');
    const last = frames.at(-1)!;
    expect(last.endsWith('  100 MiB / 100 MiB  100 MiB/s  ETA 0s\x1b[K\n')).toBe(true);
    expect(last).toMatch(/^copy \[#+\] 100\.0% {2}100 MiB/);
    expect(stream.text.split('\n')).toHaveLength(2);
  });

  it('keeps the bar within the terminal width', () => {
    const stream = capture(true, 50);
    const bar = new ProgressBar({ label: 'mirror', stream, now: () => 0 });
    bar.update(123456789, 987654321);
    const frame = stream.text.replace('\r', '').replace('\x1b[K', '');
    expect(frame.length).toBeLessThanOrEqual(49);
    expect(frame.startsWith('mirror [')).toBe(true);
  });

  it('shows an unknown ETA before any time has passed, then a real one', () => {
    const stream = capture(false);
    let now = 0;
    const bar = new ProgressBar({ label: 'x', stream, now: () => now });
    bar.update(10, 100);
    now = 60_000;
    bar.update(20, 100);
    expect(stream.text.split('\n')[0]).toContain('ETA --');
    expect(stream.text.split('\n')[1]).toContain('ETA 4:00');
  });

  it('says nothing in mode none and nothing after it ended', () => {
    const stream = capture(true);
    const silent = new ProgressBar({ label: 'copy', stream, mode: 'none' });
    silent.update(1, 2);
    silent.finish();
    expect(stream.text).toBe('');
    const bar = new ProgressBar({ label: 'copy', stream, mode: 'lines', now: () => 0 });
    bar.update(50, 100);
    bar.abandon();
    const after = stream.text;
    bar.update(100, 100);
    bar.finish();
    expect(stream.text).toBe(after);
    expect(after).toBe('copy: 50%  50 B / 100 B  0 B/s  ETA --\n');
  });
});
