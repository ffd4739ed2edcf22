import { describe, expect, it } from 'vitest';
import { inheritedSocketFds } from '../src/index.js';

describe('inheritedSocketFds', () => {
  const pid = String(process.pid);
  it('returns fds 3… when LISTEN_PID is this process', () => {
    expect(inheritedSocketFds({ LISTEN_PID: pid, LISTEN_FDS: '1' })).toEqual([3]);
    expect(inheritedSocketFds({ LISTEN_PID: pid, LISTEN_FDS: '3' })).toEqual([3, 4, 5]);
  });

  it('ignores sockets meant for another process, and nonsense counts', () => {
    expect(inheritedSocketFds({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: '1' })).toEqual([]);
    expect(inheritedSocketFds({ LISTEN_FDS: '1' })).toEqual([]);
    for (const count of ['0', '-1', 'x', '1.5', '']) expect(inheritedSocketFds({ LISTEN_PID: pid, LISTEN_FDS: count })).toEqual([]);
  });
});
