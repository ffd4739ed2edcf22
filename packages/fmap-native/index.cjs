'use strict';
/* global exports, require */
// Throws when the addon was not built; @blk/fmap catches that and uses its TypeScript engine.
// Named one by one so Node's CommonJS lexer exposes them to ESM `import { map } from …`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require('./build/Release/fmap_native.node');
exports.abiVersion = addon.abiVersion;
exports.map = addon.map;
exports.view = addon.view;
exports.sync = addon.sync;
exports.unmap = addon.unmap;
exports.seekData = addon.seekData;
exports.seekHole = addon.seekHole;
exports.punchHole = addon.punchHole;
exports.readNow = addon.readNow;
exports.ioOpen = addon.ioOpen;
exports.ioSubmit = addon.ioSubmit;
exports.ioClose = addon.ioClose;
