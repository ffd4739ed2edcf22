// The install step both Node-API addons share (@blk/fmap-native, @blk/rbd-native), called by each
// one's install.mjs with what differs. Uses a prebuilt binary for this platform when the addon
// ships them and it loads, else builds with node-gyp from local Node headers (nothing is
// downloaded). A build that cannot happen or fails prints why, records it in build/not-built.txt
// (the addon's index.cjs reports it) and exits 0, so installing never breaks; `--strict` (or
// <ENV>_STRICT=1) makes it exit 1. <ENV>=0 skips the build; `--from-source` (or
// <ENV>_FROM_SOURCE=1) skips the prebuilt binary; `--arch=ARCH` cross-builds (CC and friends name
// the cross compiler), and the result cannot be loaded here to check it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/**
 * @param {object} addon
 * @param {string} addon.dir the addon package's folder
 * @param {string} addon.name its package name, e.g. `@blk/fmap-native`
 * @param {string} addon.target the binding.gyp target: build/Release/<target>.node
 * @param {number} addon.abiVersion what the built binary's `abiVersion` must be
 * @param {string} addon.env the environment variables' prefix, e.g. `BLK_FMAP_NATIVE`
 * @param {string} addon.fallback what happens without the addon, ending the "not built" line
 * @param {boolean} [addon.prebuilds] the tarball carries prebuilds/<platform>-<arch>/<target>.node
 * @param {() => string | undefined} [addon.cannotBuild] why this machine cannot build it (checked before node-gyp)
 * @param {(stderr: string) => string | undefined} [addon.explainFailure] a clearer reason for a failed build
 */
export function installAddon(addon) {
  const require = createRequire(join(addon.dir, 'install.mjs'));
  const strict = process.argv.includes('--strict') || process.env[`${addon.env}_STRICT`] === '1';
  const fromSource = process.argv.includes('--from-source') || process.env[`${addon.env}_FROM_SOURCE`] === '1';
  const crossArch = process.argv.find((arg) => arg.startsWith('--arch='))?.slice('--arch='.length);
  const platform = `${process.platform}-${process.arch}`;
  const binary = `${addon.target}.node`;
  const notBuilt = join(addon.dir, 'build', 'not-built.txt');
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
    console.warn(`${addon.name}: not built (${reason}); ${addon.fallback}`);
    process.exit(strict ? 1 : 0);
  }

  function loadProblem(path) {
    try {
      return require(path).abiVersion === addon.abiVersion ? undefined : 'has an unexpected ABI version';
    } catch (error) {
      return `does not load: ${error.message.split('\n')[0]}`;
    }
  }

  if (process.env[addon.env] === '0') give(`${addon.env}=0`);
  if (addon.prebuilds && !fromSource) {
    const prebuilt = join(addon.dir, 'prebuilds', platform, binary);
    if (!existsSync(prebuilt)) prebuiltProblem = `no prebuilt binary for ${platform}`;
    else {
      const problem = loadProblem(prebuilt);
      if (problem === undefined) {
        rmSync(notBuilt, { force: true });
        console.log(`${addon.name}: using the prebuilt binary for ${platform}`);
        process.exit(0);
      }
      prebuiltProblem = `the prebuilt binary for ${platform} ${problem}`;
    }
  }
  const cannot = addon.cannotBuild?.();
  if (cannot !== undefined) give(cannot);
  const nodeGyp = findNodeGyp(require);
  if (!nodeGyp) give('node-gyp not found');
  const nodeDir = findNodeDir();
  const args = [nodeGyp, 'rebuild', '--release', '--loglevel=warn'];
  if (crossArch) args.push(`--arch=${crossArch}`);
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  const result = spawnSync(process.execPath, args, {
    cwd: addon.dir,
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  process.stderr.write(result.stderr ?? '');
  if (result.status !== 0) {
    const stderr = result.stderr ?? '';
    const explained = addon.explainFailure?.(stderr);
    if (explained !== undefined) give(explained);
    // node-gyp's error, e.g. "gyp ERR! stack Error: Could not find any Python installation to use",
    // or make's "gyp ERR! build error" after a compiler message.
    const lines = stderr.split('\n').map((line) => line.trim());
    const detail =
      lines.find((line) => line.startsWith('gyp ERR! stack Error: '))?.slice('gyp ERR! stack Error: '.length) ??
      lines.find((line) => /^gyp ERR! (?!stack|System|command|cwd|node -v|node-gyp -v|not ok)\S/.test(line));
    give(result.error ? result.error.message : `node-gyp exited ${result.status ?? result.signal}${detail ? `: ${detail}` : ''}`);
  }
  const problem = crossArch ? undefined : loadProblem(join(addon.dir, 'build', 'Release', binary));
  if (problem !== undefined) give(`built addon ${problem}`);
  prebuiltProblem = undefined;
  rmSync(notBuilt, { force: true });
  console.log(`${addon.name}: built build/Release/${binary}${crossArch ? ` for ${crossArch}` : ''}`);
}

function findNodeGyp(require) {
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
