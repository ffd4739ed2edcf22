#!/usr/bin/env node
// Builds the librbd binding with node-gyp from local Node headers. When it cannot be built (no
// librbd-dev, no compiler, not Linux) this prints why, records it in build/not-built.txt (loading
// the addon then fails with that reason) and exits 0, so installing @blk/rbd never breaks an
// install that does not use it. `--strict` (or BLK_RBD_NATIVE_STRICT=1) makes a failed build an
// error. The steps are native-kit's, shared with @blk/fmap-native: the tarball's own copy, or the
// monorepo's.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const kit = existsSync(join(dir, 'native-kit')) ? join(dir, 'native-kit') : join(dir, '../../native-kit');
const { installAddon } = await import(pathToFileURL(join(kit, 'install-addon.mjs')).href);

const NO_LIBRBD =
  'librbd-dev is not installed: rbd/librbd.h not found (Debian/Ubuntu: apt-get install librbd-dev; Fedora: dnf install librbd-devel)';
const includeDirs = [...(process.env.CPATH ?? '').split(':').filter(Boolean), '/usr/include', '/usr/local/include'];

installAddon({
  dir,
  name: '@blk/rbd-native',
  target: 'rbd_native',
  abiVersion: 1,
  env: 'BLK_RBD_NATIVE',
  fallback: '@blk/rbd cannot open RBD images here (there is no pure TypeScript fallback).',
  cannotBuild: () => {
    if (process.platform !== 'linux') return `librbd is only supported on Linux here, not ${process.platform}`;
    if (!includeDirs.some((include) => existsSync(join(include, 'rbd/librbd.h')))) return NO_LIBRBD;
    return undefined;
  },
  explainFailure: (stderr) =>
    /rbd\/librbd\.h|rados\/librados\.h|cannot find -lrbd|cannot find -lrados/.test(stderr) ? NO_LIBRBD : undefined,
});
