import { describe, expect, it } from 'vitest';
import { canonicalize, domainPath, formatPermission, isValidPath, parsePermission, toPermission, XenstoreError } from '../src/index.js';

describe('paths', () => {
  it('accepts what C xenstored accepts', () => {
    for (const ok of ['/', '/a', '/a/b-c_d@e', '/local/domain/3/x', '/A/Z/0/9']) expect(isValidPath(ok)).toBe(true);
  });

  it('refuses relative, trailing slash, double slash, empty and bad characters', () => {
    for (const bad of ['', 'a', '/a/', '//', '/a//b', '/a b', '/a.b', '/é', '/a\0b', '@introduceDomain']) {
      expect(isValidPath(bad)).toBe(false);
    }
  });

  it('limits length after a /local/domain/<id>/ prefix, like C', () => {
    const long = 'x'.repeat(2048);
    expect(isValidPath(`/${long.slice(1)}`)).toBe(true);
    expect(isValidPath(`/${long}`)).toBe(false);
    expect(isValidPath(`/local/domain/12345/${long}`)).toBe(true);
    expect(isValidPath(`/local/domain/12345/${long}x`)).toBe(false);
    // six digits do not count as a domain prefix
    expect(isValidPath(`/local/domain/123456/${long}`)).toBe(false);
  });

  it('resolves relative paths under the domain home', () => {
    expect(domainPath(7)).toBe('/local/domain/7');
    expect(canonicalize('device/vbd', 7)).toBe('/local/domain/7/device/vbd');
    expect(canonicalize('/abs', 7)).toBe('/abs');
    expect(canonicalize('@releaseDomain', 7)).toBe('@releaseDomain');
    expect(canonicalize('', 0)).toBe('/local/domain/0/');
  });
});

describe('permissions', () => {
  it('round-trips the four access letters', () => {
    for (const text of ['n0', 'r1', 'w65535', 'b4294967295']) expect(formatPermission(parsePermission(text)!)).toBe(text);
  });

  it('refuses malformed entries', () => {
    for (const bad of ['', 'b', 'x1', 'b-1', 'b1x', 'B1', 'b 1', 'b4294967296', 'b12345678901']) {
      expect(parsePermission(bad)).toBeUndefined();
      expect(() => toPermission(bad)).toThrow(XenstoreError);
    }
    expect(() => toPermission({ domid: -1, access: 'r' })).toThrow(XenstoreError);
    expect(() => toPermission({ domid: 1, access: 'q' as 'r' })).toThrow(XenstoreError);
  });
});
