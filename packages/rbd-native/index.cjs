'use strict';
/* global exports, require, __dirname */
// Throws when the addon was not built, with the reason install.mjs recorded (e.g. librbd-dev
// missing). Named one by one so Node's CommonJS lexer exposes them to ESM `import { open } from …`.
let addon;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require('./build/Release/rbd_native.node');
} catch (error) {
  let why;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    why = require('node:fs').readFileSync(`${__dirname}/build/not-built.txt`, 'utf8').trim();
  } catch {
    // no record: the error below says what is missing
  }
  if (why) throw new Error(`@blk/rbd-native was not built at install (${why})`, { cause: error });
  throw error;
}
exports.abiVersion = addon.abiVersion;
exports.librbdVersion = addon.librbdVersion;
exports.connect = addon.connect;
exports.shutdown = addon.shutdown;
exports.createImage = addon.createImage;
exports.removeImage = addon.removeImage;
exports.open = addon.open;
exports.close = addon.close;
exports.size = addon.size;
exports.resize = addon.resize;
exports.snapshot = addon.snapshot;
exports.diff = addon.diff;
exports.submit = addon.submit;
