/**
 * What a bulk copy through an NBD device should use (`blk copy` does), close to nbdcopy's own
 * defaults: several connections when the server allows multi-conn, enough requests in flight to
 * keep them all busy, 1 MiB per request.
 */
export const NBD_COPY_SETTINGS = Object.freeze({
  /** Connections to open (more than one only when the server advertises CAN_MULTI_CONN). */
  connections: 4,
  /** Requests in flight across them. */
  concurrency: 16,
  /** Bytes per request. */
  chunkBytes: 1 << 20,
});
