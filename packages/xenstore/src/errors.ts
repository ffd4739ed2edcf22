/**
 * The error names C xenstored and libxenstore know (xs_wire.h `xsd_errors`). C clients map any other
 * name to EINVAL, so our server only ever sends these.
 */
export const WIRE_ERROR_CODES = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/**
 * Codes raised locally by our client rather than received from a server:
 * `ENOTCONN` (closed or lost connection), `EPROTO` (the peer broke the protocol).
 */
export type LocalErrorCode = 'ENOTCONN' | 'EPROTO';

/**
 * Every code a `XenstoreError` may carry: the C names, the local ones, and whatever other name a
 * server sends (ocaml-xenstore's server uses `EQUOTA`, for instance).
 */
export type XenstoreErrorCode = WireErrorCode | LocalErrorCode | 'EQUOTA' | (string & {});

const WIRE_SET: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

export function isWireErrorCode(code: string): code is WireErrorCode {
  return WIRE_SET.has(code);
}

/** A failed xenstore operation. `code` is the error name as it travels on the wire (`ENOENT`…). */
export class XenstoreError extends Error {
  override readonly name = 'XenstoreError';
  readonly code: XenstoreErrorCode;

  constructor(code: XenstoreErrorCode, message?: string, options?: ErrorOptions) {
    super(message ?? code, options);
    this.code = code;
  }
}

export function isXenstoreError(error: unknown, code?: XenstoreErrorCode): error is XenstoreError {
  return error instanceof XenstoreError && (code === undefined || error.code === code);
}

/** Any error object with a string `code` equal to `code` (works across package copies). */
export function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/**
 * Thrown by a `wait` callback to say "not yet: run me again when something I read changes".
 * `wait` recognises any error whose `name` is `'Eagain'`, so code that cannot import this class can
 * throw `Object.assign(new Error('not yet'), { name: 'Eagain' })`.
 */
export class Eagain extends Error {
  override readonly name = 'Eagain';

  constructor(message = 'not yet') {
    super(message);
  }
}

export function isEagain(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'Eagain';
}
