import type { HeaderReader } from './transport.js';

/** What identifies one version of the image: its length and the validators the server gave. */
export interface ImageVersion {
  readonly size: number;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
}

/** Reads `ETag` and `Last-Modified` from a response. */
export function validatorsOf(headers: HeaderReader): { etag: string | undefined; lastModified: string | undefined } {
  return { etag: headers.get('etag') ?? undefined, lastModified: headers.get('last-modified') ?? undefined };
}

function isWeak(etag: string): boolean {
  return etag.startsWith('W/');
}

/**
 * The `If-Range` value that makes the server answer the whole (new) file instead of a part of
 * another version: a strong ETag, else the Last-Modified date (RFC 9110 §13.1.5 allows no weak ETag).
 */
export function ifRangeOf(version: ImageVersion): string | undefined {
  if (version.etag !== undefined && !isWeak(version.etag)) return version.etag;
  return version.lastModified;
}

/**
 * Why a response's validators show another version of the image, or undefined when they agree
 * (a validator the response leaves out cannot disagree). Weak ETags compare weakly.
 */
export function versionMismatch(version: ImageVersion, headers: HeaderReader): string | undefined {
  const now = validatorsOf(headers);
  if (version.etag !== undefined && now.etag !== undefined) {
    const strip = (tag: string) => (isWeak(tag) ? tag.slice(2) : tag);
    if (strip(version.etag) !== strip(now.etag)) return `ETag changed from ${version.etag} to ${now.etag}`;
  }
  if (version.lastModified !== undefined && now.lastModified !== undefined && version.lastModified !== now.lastModified) {
    return `Last-Modified changed from ${version.lastModified} to ${now.lastModified}`;
  }
  return undefined;
}
