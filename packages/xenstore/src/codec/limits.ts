/** Bytes in a message header: four little-endian u32 (type, req_id, tx_id, len). */
export const HEADER_SIZE = 16;
/** XENSTORE_PAYLOAD_MAX: the largest payload either side may send. */
export const PAYLOAD_MAX = 4096;
/** XENSTORE_ABS_PATH_MAX. */
export const ABS_PATH_MAX = 3072;
/** XENSTORE_REL_PATH_MAX. */
export const REL_PATH_MAX = 2048;
