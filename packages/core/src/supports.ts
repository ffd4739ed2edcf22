import { BlockError } from './block-error.js';

/** The feature flags a device declares; see the Supports type below and README.md § The contract. */
export const SUPPORT_FLAGS = [
  'write',
  'flush',
  'fua',
  'discard',
  'discardZeroes',
  'writeZeroes',
  'resize',
  'seek',
  'sparse',
  'persistent',
  'concurrent',
] as const;

export type SupportFlag = (typeof SUPPORT_FLAGS)[number];

/**
 * A device's manifest: which optional operations and properties it has.
 *
 * - `write`: `write` stores data (and agrees with `getInfo().readWrite`).
 * - `flush`, `discard`, `writeZeroes`, `resize`, `seek`: the optional method(s) of that name exist.
 * - `fua`: every `write` (and `writeZeroes`) is durable when it resolves, without a flush.
 * - `discardZeroes`: a discarded range reads zero (needs `discard`).
 * - `sparse`: unwritten and discarded ranges take no storage; a fresh device maps nothing.
 * - `persistent`: data outlives the process; what a resolved `flush` covers survives a crash.
 * - `concurrent`: requests in flight may overlap and each sector stays whole (old or new data),
 *   and a flush covers every write acknowledged before it, whoever sent it.
 *
 * A read-only device (`readWrite: false`) says false for every write-type flag:
 * {@link READ_ONLY_FALSE_FLAGS} (`write`, `fua`, `discard`, `discardZeroes`, `writeZeroes`,
 * `resize`), so it has no `discard`, `writeZeroes` or `resize` method and its `write` rejects
 * READ_ONLY.
 */
export type Supports = Readonly<Record<SupportFlag, boolean>>;

/** The write-type flags, false in the manifest of every read-only device. */
export const READ_ONLY_FALSE_FLAGS = Object.freeze([
  'write',
  'fua',
  'discard',
  'discardZeroes',
  'writeZeroes',
  'resize',
] as const satisfies readonly SupportFlag[]);

/** Optional BlockDevice methods and the flag that says whether each is present. */
export const OPTIONAL_METHODS = Object.freeze({
  flush: 'flush',
  discard: 'discard',
  writeZeroes: 'writeZeroes',
  resize: 'resize',
  seekMapped: 'seek',
  seekUnmapped: 'seek',
} as const satisfies Record<string, SupportFlag>);

export type OptionalMethod = keyof typeof OPTIONAL_METHODS;

/**
 * Builds a frozen manifest: entries left out are `false`. Unknown names and non-boolean values
 * are refused, so a typo cannot silently switch a feature off.
 */
export function supports(partial: Partial<Record<SupportFlag, boolean>> = {}): Supports {
  const result = {} as Record<SupportFlag, boolean>;
  for (const flag of SUPPORT_FLAGS) result[flag] = false;
  for (const [key, value] of Object.entries(partial)) {
    if (!(SUPPORT_FLAGS as readonly string[]).includes(key)) {
      throw new BlockError('INVALID_ARGUMENT', `unknown supports flag '${key}'`);
    }
    if (typeof value !== 'boolean') {
      throw new BlockError('INVALID_ARGUMENT', `supports flag '${key}' must be a boolean`);
    }
    result[key as SupportFlag] = value;
  }
  if (result.discardZeroes && !result.discard) {
    throw new BlockError('INVALID_ARGUMENT', `supports flag 'discardZeroes' needs 'discard'`);
  }
  return Object.freeze(result);
}

/**
 * For class-based devices whose optional methods live on the prototype: shadows each one whose
 * flag is false with an own `undefined`, so a method is present exactly when its flag is set
 * (e.g. `discard` on a device opened read-only). Call it at the end of the constructor.
 */
export function dropUnsupportedMethods(device: { readonly supports: Supports }): void {
  for (const [method, flag] of Object.entries(OPTIONAL_METHODS)) {
    if (!device.supports[flag]) Object.defineProperty(device, method, { value: undefined, enumerable: false, configurable: true });
  }
}
