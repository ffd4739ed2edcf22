import { UsageError } from './cli-error.js';
import type { DeviceSpec } from './device-spec.js';

/** `overlay:BASE+TOP`: a copy-on-write disk (@blk/overlay) whose changes go to TOP. */
export interface OverlaySpec {
  readonly kind: 'overlay';
  readonly base: DeviceSpec;
  readonly top: DeviceSpec;
}

/**
 * A `+` that starts the TOP: one followed by the beginning of a SPEC. Any other `+` (in a path, in
 * `nbd+unix://`, in a URL's query) belongs to the SPEC it is in.
 */
const SEPARATOR = /\+(?=(?:ram|mem|file|fmap|rbd|overlay):|nbds?(?:\+unix)?:\/\/|https?:\/\/)/gi;

/**
 * Reads the `BASE+TOP` of an `overlay:` SPEC. The TOP starts after the last `+` that is followed by
 * the start of a SPEC, so the BASE may itself be an overlay (`overlay:overlay:A+B+C` is C over B
 * over A); a BASE that contains such a `+` without being an overlay is refused as ambiguous.
 */
export function parseOverlaySpec(text: string, rest: string, parse: (text: string) => DeviceSpec): OverlaySpec {
  const bad = (why: string) => new UsageError(`bad device spec '${text}': ${why}`);
  const cuts = [...rest.matchAll(SEPARATOR)].map((m) => m.index);
  const cut = cuts.at(-1);
  if (cut === undefined) throw bad('overlay: needs BASE+TOP, e.g. overlay:file:golden.img+file:changes.img');
  const baseText = rest.slice(0, cut);
  const topText = rest.slice(cut + 1);
  if (cuts.length > 1 && !/^overlay:/i.test(baseText)) {
    throw bad(`'${baseText}' is ambiguous as a BASE: write overlay:overlay:A+B+C for a chain, and paths without '+' before a SPEC prefix`);
  }
  if (baseText === '') throw bad('overlay: the BASE is missing');
  return { kind: 'overlay', base: parse(baseText), top: parse(topText) };
}
