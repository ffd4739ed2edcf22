/** xenstore message types (xs_wire.h `enum xsd_sockmsg_type`). */
export const MessageType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  /** Removed in Xen 4.9; servers answer ENOSYS. */
  RESTRICT: 20,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
  INVALID: 65535,
} as const;

export type MessageTypeName = keyof typeof MessageType;

const NAMES = new Map<number, MessageTypeName>();
for (const [name, value] of Object.entries(MessageType) as [MessageTypeName, number][]) NAMES.set(value, name);

/** The wire name of a type number (`CONTROL` for 0, which old code calls DEBUG), or `UNKNOWN(n)`. */
export function messageTypeName(type: number): string {
  return NAMES.get(type) ?? `UNKNOWN(${type})`;
}
