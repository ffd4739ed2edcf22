import type { BlockErrorCode } from '@blk/core';
import { expect } from 'vitest';
import { isHttpDeviceError, type HttpDeviceError, type HttpFailure } from '../../src/index.js';

/** Awaits the rejection of `promise` and checks it is an HttpDeviceError with this code and reason. */
export async function expectHttpError(promise: Promise<unknown>, code: BlockErrorCode, reason: HttpFailure): Promise<HttpDeviceError> {
  const error: unknown = await promise.then(
    () => expect.fail(`expected a ${code}/${reason} rejection, but it resolved`),
    (e: unknown) => e,
  );
  const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  expect(isHttpDeviceError(error), `${shown} is an HttpDeviceError`).toBe(true);
  const http = error as HttpDeviceError;
  expect({ code: http.code, reason: http.reason }, shown).toEqual({ code, reason });
  return http;
}
