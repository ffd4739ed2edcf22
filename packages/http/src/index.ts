export { connect } from './connect.js';
export { HttpDevice, type HttpStats } from './http-device.js';
export { HttpDeviceError, isHttpDeviceError, type HttpFailure } from './http-error.js';
export { MAX_RETRY_DELAY_MS, type FetchFunction, type HttpOptions } from './options.js';
