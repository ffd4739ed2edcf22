#!/usr/bin/env node
// At install: uses the prebuilt binary the tarball ships for this platform when it loads, else
// builds the addon with node-gyp from local Node headers. The build is optional: when it fails
// (no compiler, no headers, Windows) this prints why and exits 0, and @blk/fmap runs on its pure
// TypeScript engine. `--strict` (or BLK_FMAP_NATIVE_STRICT=1) makes a failed build an error;
// `--from-source` (or BLK_FMAP_NATIVE_FROM_SOURCE=1) skips the prebuilt binary. `--arch=ARCH`
// cross-builds for another architecture (prebuild.mjs; CC and friends name the cross compiler),
// which cannot be loaded here to check it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

const strict = process.argv.includes('--strict') || process.env.BLK_FMAP_NATIVE_STRICT === '1';
const fromSource = process.argv.includes('--from-source') || process.env.BLK_FMAP_NATIVE_FROM_SOURCE === '1';
const crossArch = process.argv.find((arg) => arg.startsWith('--arch='))?.slice('--arch='.length);
const platform = `${process.platform}-${process.arch}`;
const prebuilt = join(here, 'prebuilds', platform, 'fmap_native.node');
const ABI_VERSION = 3;

// Why the addon is missing, for index.cjs to report through @blk/fmap's nativeStatus().
const notBuilt = join(here, 'build', 'not-built.txt');

// Why the prebuilt binary was not used, said before the build's own reason.
let prebuiltProblem;

function give(buildReason) {
  const reason = prebuiltProblem ? `${prebuiltProblem}; ${buildReason}` : buildReason;
  try {
    mkdirSync(dirname(notBuilt), { recursive: true });
    writeFileSync(notBuilt, `${reason}\n`);
  } catch {
    // a read-only install folder: the console line below is all there is
  }
  console.warn(`@blk/fmap-native: not built (${reason}); @blk/fmap will use its pure TypeScript engine.`);
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

// Local headers, so nothing is downloaded: an explicit nodedir, else the prefix Node runs from.
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include/node/node_api.h'))) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include/node/node_api.h'))) return prefix;
  return undefined;
}

function loadProblem(path) {
  try {
    return require(path).abiVersion === ABI_VERSION ? undefined : 'has an unexpected ABI version';
  } catch (error) {
    return `does not load: ${error.message.split('\n')[0]}`;
  }
}

if (process.env.BLK_FMAP_NATIVE === '0') give('BLK_FMAP_NATIVE=0');
if (!fromSource) {
  if (!existsSync(prebuilt)) prebuiltProblem = `no prebuilt binary for ${platform}`;
  else {
    const problem = loadProblem(prebuilt);
    if (problem === undefined) {
      rmSync(notBuilt, { force: true });
      console.log(`@blk/fmap-native: using the prebuilt binary for ${platform}`);
      process.exit(0);
    }
    prebuiltProblem = `the prebuilt binary for ${platform} ${problem}`;
  }
}
if (process.platform === 'win32') give('Windows has no mmap/fallocate here');
const nodeGyp = findNodeGyp();
if (!nodeGyp) give('node-gyp not found');
const nodeDir = findNodeDir();
const args = [nodeGyp, 'rebuild', '--release', '--loglevel=warn'];
if (crossArch) args.push(`--arch=${crossArch}`);
if (nodeDir) args.push(`--nodedir=${nodeDir}`);
const result = spawnSync(process.execPath, args, { cwd: here, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: 300_000 });
process.stderr.write(result.stderr ?? '');
if (result.status !== 0) {
  // node-gyp's error, e.g. "gyp ERR! stack Error: Could not find any Python installation to use",
  // or make's "gyp ERR! build error" after a compiler message.
  const lines = (result.stderr ?? '').split('\n').map((line) => line.trim());
  const detail =
    lines.find((line) => line.startsWith('gyp ERR! stack Error: '))?.slice('gyp ERR! stack Error: '.length) ??
    lines.find((line) => /^gyp ERR! (?!stack|System|command|cwd|node -v|node-gyp -v|not ok)\S/.test(line));
  give(result.error ? result.error.message : `node-gyp exited ${result.status ?? result.signal}${detail ? `: ${detail}` : ''}`);
}
const problem = crossArch ? undefined : loadProblem('./build/Release/fmap_native.node');
if (problem !== undefined) give(`built addon ${problem}`);
prebuiltProblem = undefined;
rmSync(notBuilt, { force: true });
console.log(`@blk/fmap-native: built build/Release/fmap_native.node${crossArch ? ` for ${crossArch}` : ''}`);
