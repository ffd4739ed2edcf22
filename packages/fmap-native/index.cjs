'use strict';
// Throws when the addon was not built; @blk/fmap catches that and uses its TypeScript engine.
module.exports = require('./build/Release/fmap_native.node');
