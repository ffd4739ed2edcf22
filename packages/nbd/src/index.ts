export { createServer, NbdServer, type ListenAddress, type ListenTarget } from './server.js';
export { DEFAULT_LIMITS, type NbdExport, type NbdServerOptions, type ServerLimits } from './server-options.js';
export { inheritedSocketFds, stdioStream } from './stdio.js';
export { parsePskFile, type ClientTlsOptions, type ServerTlsOptions, type TlsMode } from './tls-config.js';
export { formatUri, parseUri, type NbdUri } from './uri.js';
export { NbdRemoteError } from './errno.js';
export { connect, listExports, type ConnectOptions } from './connect.js';
export type { ExportListing } from './client-handshake.js';
export { NbdDevice } from './nbd-device.js';
