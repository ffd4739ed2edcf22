#!/usr/bin/env node
// At install: uses the prebuilt binary the tarball ships for this platform when it loads, else
// builds the addon with node-gyp from local Node headers. The build is optional: when it fails
// (no compiler, no headers, Windows) this prints why and exits 0, and @blk/fmap runs on its pure
// TypeScript engine. `--strict` (or BLK_FMAP_NATIVE_STRICT=1) makes a failed build an error;
// `--from-source` (or BLK_FMAP_NATIVE_FROM_SOURCE=1) skips the prebuilt binary. `--arch=ARCH`
// cross-builds for another architecture (prebuild.mjs; CC and friends name the cross compiler),
// which cannot be loaded here to check it. The steps are native-kit's, shared with @blk/rbd-native:
// the tarball's own copy, or the monorepo's.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const kit = existsSync(join(dir, 'native-kit')) ? join(dir, 'native-kit') : join(dir, '../../native-kit');
const { installAddon } = await import(pathToFileURL(join(kit, 'install-addon.mjs')).href);

installAddon({
  dir,
  name: '@blk/fmap-native',
  target: 'fmap_native',
  abiVersion: 3,
  env: 'BLK_FMAP_NATIVE',
  fallback: '@blk/fmap will use its pure TypeScript engine.',
  prebuilds: true,
  cannotBuild: () => (process.platform === 'win32' ? 'Windows has no mmap/fallocate here' : undefined),
});
