export { main, COMMANDS } from './main.js';
export type { Command, Io } from './command.js';
export { CliError, EXIT, UsageError, isCliError } from './cli-error.js';
export { formatBytes, formatSizeExact } from './size.js';
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
export type { OverlaySpec } from './overlay-spec.js';
export type { RbdSpec } from './rbd-spec.js';
export { openDevice, type OpenOptions, type OpenedDevice } from './open-device.js';
export { formatNbdUri, type NbdEndpoint, type NbdUriTls } from './nbd-uri.js';
export { clientHints, type HintedExport } from './client-hints.js';
export type { ProgressMode, ProgressStream } from './progress-bar.js';
export { STANDARD_WORKLOADS, type BenchResult, type BenchWorkload, type LatencySummary } from './bench/workloads.js';
