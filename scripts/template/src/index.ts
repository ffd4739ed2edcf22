export { __CLASS__, type __CLASS__Options } from './device.js';
