#!/usr/bin/env node
// Runs before `pnpm pack`/`pnpm publish` (prepack): builds the addon from source, strictly, and
// copies it to prebuilds/<platform>-<arch>/ so that the tarball carries a binary for the platform
// it was packed on and installs there compile nothing. On linux-x64 with Debian's cross compiler
// (gcc-aarch64-linux-gnu) on PATH it also cross-builds linux-arm64. `--clean` (postpack) removes
// the folder again, so a later source build in this checkout is never shadowed by a stale binary.
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
const CROSS = { arm64: 'aarch64-linux-gnu' };

function build(arch) {
  const env = { ...process.env };
  const args = [join(here, 'install.mjs'), '--strict', '--from-source'];
  if (arch !== process.arch) {
    const prefix = CROSS[arch];
    Object.assign(env, { CC: `${prefix}-gcc`, CXX: `${prefix}-g++`, LINK: `${prefix}-gcc`, AR: `${prefix}-ar` });
    args.push(`--arch=${arch}`);
  }
  const built = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit', env });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const target = join(prebuilds, `${process.platform}-${arch}`);
  mkdirSync(target, { recursive: true });
  copyFileSync(join(here, 'build', 'Release', 'fmap_native.node'), join(target, 'fmap_native.node'));
  console.log(`@blk/fmap-native: prebuilt ${process.platform}-${arch} for the tarball`);
}

const hasCompiler = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
if (process.platform === 'linux' && process.arch === 'x64' && hasCompiler(`${CROSS.arm64}-gcc`)) build('arm64');
// The host's build last, so build/Release holds a binary this machine can load.
build(process.arch);
