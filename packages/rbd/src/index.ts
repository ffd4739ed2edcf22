export { connect, type RbdConnectOptions } from './connect.js';
export { create, remove, type RbdCreateOptions } from './manage.js';
export { RbdDevice, MAX_IN_FLIGHT, MAX_WAITING } from './rbd-device.js';
export { nativeStatus } from './native-binding.js';
export { ERRNO_CODES } from './rbd-errors.js';
export { DEFAULT_TIMEOUT_SECONDS, type RbdClusterOptions, type RbdImageOptions } from './rbd-options.js';
