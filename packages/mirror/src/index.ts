export { connect } from './connect.js';
export type { Mirror } from './mirror.js';
export type { MirrorState } from './mirror-device.js';
export type { MirrorOptions, ThrottleOptions } from './options.js';
export type { MirrorProgress, PercentProgress, ProgressListener } from './progress.js';
