import { readOptional, type XenbusHandle, type XenbusStore } from './xenbus-store.js';

/** XenbusState values, written as decimal strings in `<dir>/state`. */
export const XenbusState = Object.freeze({
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const);
export type XenbusStateValue = (typeof XenbusState)[keyof typeof XenbusState];

const NAMES = Object.keys(XenbusState) as (keyof typeof XenbusState)[];

export function xenbusStateName(state: number): string {
  return NAMES[state] ?? `invalid(${state})`;
}

/** Parses a state value; anything that is not a decimal 0..8 counts as Unknown. */
export function parseXenbusState(text: string | undefined): XenbusStateValue {
  if (text === undefined || !/^\d$/.test(text.trim())) return XenbusState.Unknown;
  const n = Number(text.trim());
  return (n <= 8 ? n : 0) as XenbusStateValue;
}

/** The state of the device directory `dir`, or undefined when its `state` node is missing. */
export async function readState(h: XenbusHandle, dir: string): Promise<XenbusStateValue | undefined> {
  const text = await readOptional(h, `${dir}/state`);
  return text === undefined ? undefined : parseXenbusState(text);
}

export function writeState(h: XenbusHandle, dir: string, state: XenbusStateValue): Promise<void> {
  return h.write(`${dir}/state`, String(state));
}

/**
 * Writes `dir/state` in a transaction unless the node is gone (the toolstack removed the device):
 * a late state write must not recreate a removed directory. Returns whether it wrote.
 */
export function writeStateIfPresent(store: XenbusStore, dir: string, state: XenbusStateValue): Promise<boolean> {
  return store.transaction(async (h) => {
    if ((await readState(h, dir)) === undefined) return false;
    await writeState(h, dir, state);
    return true;
  });
}
