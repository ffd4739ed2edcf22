export { overlay, overlayTopBytes, type Overlay } from './overlay.js';
export type { OverlayOptions } from './options.js';
export { OverlayError, isOverlayError, type OverlayErrorReason } from './overlay-error.js';
export { FORMAT_VERSION } from './header.js';
