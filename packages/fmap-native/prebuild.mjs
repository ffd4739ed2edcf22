#!/usr/bin/env node
// Runs before `pnpm pack`/`pnpm publish` (prepack): builds the addon from source, strictly, and
// copies it to prebuilds/<platform>-<arch>/ so that the tarball carries a binary for the platform
// it was packed on and installs there compile nothing. `--clean` (postpack) removes the folder
// again, so a later source build in this checkout is never shadowed by a stale binary.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prebuilds = join(here, 'prebuilds');

if (process.argv.includes('--clean')) {
  rmSync(prebuilds, { recursive: true, force: true });
  process.exit(0);
}
const built = spawnSync(process.execPath, [join(here, 'install.mjs'), '--strict', '--from-source'], { cwd: here, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
const target = join(prebuilds, `${process.platform}-${process.arch}`);
mkdirSync(target, { recursive: true });
copyFileSync(join(here, 'build', 'Release', 'fmap_native.node'), join(target, 'fmap_native.node'));
console.log(`@blk/fmap-native: prebuilt ${process.platform}-${process.arch} for the tarball`);
