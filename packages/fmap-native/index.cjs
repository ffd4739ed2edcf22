'use strict';
/* global exports, require, __dirname */
// Throws when the addon was not built; @blk/fmap catches that and uses its TypeScript engine.
// Named one by one so Node's CommonJS lexer exposes them to ESM `import { map } from …`.
let addon;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require('./build/Release/fmap_native.node');
} catch (error) {
  // install.mjs leaves the reason the build was given up, e.g. no compiler or no Python.
  let why;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    why = require('node:fs').readFileSync(`${__dirname}/build/not-built.txt`, 'utf8').trim();
  } catch {
    // no record: the error below says what is missing
  }
  if (why) throw new Error(`not built at install (${why})`, { cause: error });
  throw error;
}
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
