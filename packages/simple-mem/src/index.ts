export { CHUNK_BYTES } from './chunk-store.js';
export { connect, destroy, type SimpleMemOptions } from './registry.js';
export { SimpleMemDevice } from './simple-mem.js';
