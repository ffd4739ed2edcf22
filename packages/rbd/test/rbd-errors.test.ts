import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCK_ERROR_CODES, isBlockError } from '@blk/core';
import { ERRNO_CODES } from '../src/index.js';
import { rbdError, resultError } from '../src/rbd-errors.js';
import { clusterKey, settingsList } from '../src/rbd-options.js';

// No cluster needed: how librbd's failures become BlockErrors, and how options become settings.
describe('librbd errors as BlockErrors', () => {
  it('maps each listed errno to its code and keeps the original as cause', () => {
    const numbers: Record<string, number> = { EROFS: 30, EPERM: 1, EINVAL: 22, ERANGE: 34, EFBIG: 27, EOPNOTSUPP: 95, ENOSYS: 38 };
    for (const [name, errno] of Object.entries(numbers)) {
      const error = resultError(-errno, 'rbd write on p/i');
      expect(error.code).toBe(ERRNO_CODES[name]);
      expect(error.message).toContain(name);
      expect((error.cause as { errno: number }).errno).toBe(errno);
    }
  });

  it('makes every other errno an IO error, including the timeout and blocklisting', () => {
    for (const errno of [5, 110, 108, 28, 122, 2, 16]) expect(resultError(-errno, 'x').code).toBe('IO');
  });

  it('gives a BlockError with a known code for any negative result and any thrown value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4095 }), fc.anything(), (errno, thrown) => {
        expect(BLOCK_ERROR_CODES).toContain(resultError(-errno, 'x').code);
        expect(isBlockError(rbdError(thrown, 'y'))).toBe(true);
      }),
    );
  });

  it('passes a BlockError through unchanged', () => {
    const original = resultError(-30, 'x');
    expect(rbdError(original, 'y')).toBe(original);
  });
});

describe('cluster options', () => {
  it('sets the three timeouts first, then the caller settings (which may override them)', () => {
    expect(settingsList({ timeoutSeconds: 5, settings: { rbd_cache: 'false' } })).toEqual([
      'rados_osd_op_timeout',
      '5',
      'rados_mon_op_timeout',
      '5',
      'client_mount_timeout',
      '5',
      'rbd_cache',
      'false',
    ]);
    expect(settingsList({})[1]).toBe('30');
  });

  it('shares a connection only between equal options; client.admin and admin are one', () => {
    expect(clusterKey({ conf: '/a', clientName: 'client.admin' })).toBe(clusterKey({ conf: '/a', clientName: 'admin' }));
    expect(clusterKey({ conf: '/a' })).not.toBe(clusterKey({ conf: '/b' }));
    expect(clusterKey({ conf: '/a', timeoutSeconds: 3 })).not.toBe(clusterKey({ conf: '/a' }));
  });
});
