import { BlockError } from './block-error.js';

/** The feature flags a device declares; see DESIGN.md §2. */
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

export type Supports = Readonly<Record<SupportFlag, boolean>>;

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
