#!/usr/bin/env node
// Builds the librbd binding with node-gyp from local Node headers. When it cannot be built (no
// librbd-dev, no compiler, not Linux) this prints why, records it in build/not-built.txt (loading
// the addon then fails with that reason) and exits 0, so installing @blk/rbd never breaks an
// install that does not use it. `--strict` (or BLK_RBD_NATIVE_STRICT=1) makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

const strict = process.argv.includes('--strict') || process.env.BLK_RBD_NATIVE_STRICT === '1';
const notBuilt = join(here, 'build', 'not-built.txt');
const NO_LIBRBD =
  'librbd-dev is not installed: rbd/librbd.h not found (Debian/Ubuntu: apt-get install librbd-dev; Fedora: dnf install librbd-devel)';

function give(reason) {
  try {
    mkdirSync(dirname(notBuilt), { recursive: true });
    writeFileSync(notBuilt, `${reason}\n`);
  } catch {
    // a read-only install folder: the console line below is all there is
  }
  console.warn(`@blk/rbd-native: not built (${reason}); @blk/rbd cannot open RBD images here (there is no pure TypeScript fallback).`);
  process.exit(strict ? 1 : 0);
}

function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package here
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(
    join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(prefix, 'lib/node_modules/pnpm/dist/node_modules/node-gyp/bin/node-gyp.js'),
  );
  return candidates.find((path) => path && existsSync(path));
}

function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include/node/node_api.h'))) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include/node/node_api.h'))) return prefix;
  return undefined;
}

const includeDirs = [...(process.env.CPATH ?? '').split(':').filter(Boolean), '/usr/include', '/usr/local/include'];

if (process.env.BLK_RBD_NATIVE === '0') give('BLK_RBD_NATIVE=0');
if (process.platform !== 'linux') give(`librbd is only supported on Linux here, not ${process.platform}`);
if (!includeDirs.some((dir) => existsSync(join(dir, 'rbd/librbd.h')))) give(NO_LIBRBD);
const nodeGyp = findNodeGyp();
if (!nodeGyp) give('node-gyp not found');
const nodeDir = findNodeDir();
const args = [nodeGyp, 'rebuild', '--release', '--loglevel=warn'];
if (nodeDir) args.push(`--nodedir=${nodeDir}`);
const result = spawnSync(process.execPath, args, { cwd: here, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: 300_000 });
process.stderr.write(result.stderr ?? '');
if (result.status !== 0) {
  const stderr = result.stderr ?? '';
  if (/rbd\/librbd\.h|rados\/librados\.h|cannot find -lrbd|cannot find -lrados/.test(stderr)) give(NO_LIBRBD);
  const lines = stderr.split('\n').map((line) => line.trim());
  const detail =
    lines.find((line) => line.startsWith('gyp ERR! stack Error: '))?.slice('gyp ERR! stack Error: '.length) ??
    lines.find((line) => /^gyp ERR! (?!stack|System|command|cwd|node -v|node-gyp -v|not ok)\S/.test(line));
  give(result.error ? result.error.message : `node-gyp exited ${result.status ?? result.signal}${detail ? `: ${detail}` : ''}`);
}
try {
  const addon = require('./build/Release/rbd_native.node');
  if (addon.abiVersion !== 1) give('built addon has an unexpected ABI version');
} catch (error) {
  give(`built addon does not load: ${error.message}`);
}
rmSync(notBuilt, { force: true });
console.log('@blk/rbd-native: built build/Release/rbd_native.node');
