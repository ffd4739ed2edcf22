export { main, COMMANDS } from './main.js';
export type { Command, Io } from './command.js';
export { CliError, EXIT, UsageError, isCliError } from './cli-error.js';
export { formatBytes, formatSizeExact, parseSize } from './size.js';
export { formatDuration } from './duration.js';
export {
  SPEC_FORMS,
  formatDeviceSpec,
  parseDeviceSpec,
  type DeviceSpec,
  type MemorySpec,
  type NbdSpec,
  type PathSpec,
} from './device-spec.js';
export { nbdConnectOptions, openDevice, type OpenOptions, type OpenedDevice } from './open-device.js';
export { formatNbdUri, type NbdEndpoint, type NbdUriTls } from './nbd-uri.js';
export { clientHints, type HintedExport } from './client-hints.js';
export { parseBenchRecords, verdictOf, type BenchRecord } from './bench-rows.js';
export { renderBenchTable } from './bench-table.js';
export { ProgressBar, type ProgressMode, type ProgressOptions, type ProgressStream } from './progress-bar.js';
export { shellQuote } from './shell-quote.js';
