'use strict';
/* global exports, require, __dirname */
// Throws when there is no addon (no prebuilt binary for this platform and none built at install);
// @blk/fmap catches that and uses its TypeScript engine. A binary built here at install comes
// before the prebuilt one. Named one by one so Node's CommonJS lexer exposes them to ESM
// `import { map } from …`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { existsSync, readFileSync } = require('node:fs');
const platform = `${process.platform}-${process.arch}`;
const built = `${__dirname}/build/Release/fmap_native.node`;
const prebuilt = `${__dirname}/prebuilds/${platform}/fmap_native.node`;
const useBuilt = existsSync(built) || !existsSync(prebuilt);
let addon;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require(useBuilt ? built : prebuilt);
} catch (error) {
  // install.mjs leaves the reason the build was given up, e.g. no compiler or no Python.
  let why;
  try {
    why = readFileSync(`${__dirname}/build/not-built.txt`, 'utf8').trim();
  } catch {
    // no record: the error below says what is missing
  }
  if (why) throw new Error(`not built at install (${why})`, { cause: error });
  throw error;
}
exports.abiVersion = addon.abiVersion;
exports.origin = useBuilt ? 'built from source' : `prebuilt for ${platform}`;
exports.map = addon.map;
exports.view = addon.view;
exports.sync = addon.sync;
exports.unmap = addon.unmap;
exports.seekData = addon.seekData;
exports.seekHole = addon.seekHole;
exports.punchHole = addon.punchHole;
exports.readNow = addon.readNow;
exports.writeNow = addon.writeNow;
exports.pageSize = addon.pageSize;
exports.ioOpen = addon.ioOpen;
exports.ioSubmit = addon.ioSubmit;
exports.ioClose = addon.ioClose;
