#!/usr/bin/env node
// Typechecks and runs every README example (examples/<package>/<name>.ts): compiles them with tsc
// into examples/dist, runs each with node (bounded in time), and runs the *.test.ts examples with
// vitest. `--root DIR` runs the examples of another project laid out the same way (the
// pack-and-install check uses it); file arguments restrict the run to those examples.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const rootFlag = args.indexOf('--root');
const root = rootFlag >= 0 ? args.splice(rootFlag, 2)[1] : join(import.meta.dirname, '..', 'examples');
const only = new Set(args);
const TIMEOUT_MS = 60_000;
const peersRequired = process.env.BLK_REQUIRE_PEERS === '1';

function sources(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(relative(root, path));
  }
  return found.sort();
}

function onPath(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Examples that are not run as `node file.js`: how to run them and what they need. */
const DRIVERS = {
  // A server that a libnbd tool spawns and talks to over stdio or an inherited socket.
  'nbd/serve-inherited.ts': { needs: 'nbdinfo', command: (js) => ['nbdinfo', '--', '[', process.execPath, js, ']'] },
  // Needs a Ceph cluster: @blk/rbd's throwaway test cluster (this repository's layout only), its
  // ceph.conf given to the example as CEPH_CONF, stopped again whatever the example did.
  'rbd/snapshot.ts': {
    needs: 'ceph-mon',
    command: (js) => [
      'sh',
      '-c',
      'd=$(mktemp -d) && pnpm --silent --dir "$1" ceph-cluster start "$d/c" >/dev/null || exit 1; CEPH_CONF="$d/c/ceph.conf" "$2" "$3"; s=$?; pnpm --silent --dir "$1" ceph-cluster stop "$d/c"; rm -rf "$d"; exit $s',
      'sh',
      join(import.meta.dirname, '..', 'packages', 'rbd'),
      process.execPath,
      js,
    ],
  },
};

const all = sources(root).filter((file) => only.size === 0 || only.has(file));
const programs = all.filter((file) => !file.endsWith('.test.ts'));
const tests = all.filter((file) => file.endsWith('.test.ts'));

/** A tool from the nearest node_modules/.bin at or above the examples. */
function bin(name) {
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const path = join(dir, 'node_modules', '.bin', name);
    if (existsSync(path)) return path;
    if (dirname(dir) === dir) return name;
  }
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
console.log(`== typecheck and compile ${all.length} example(s) in ${root}`);
const compiled = spawnSync(bin('tsc'), ['-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
if (compiled.status !== 0) {
  console.error('examples: typecheck failed');
  process.exit(1);
}

const failures = [];
let skipped = 0;
for (const file of programs) {
  const js = join(root, 'dist', file.replace(/\.ts$/, '.js'));
  const driver = DRIVERS[file];
  if (driver && !onPath(driver.needs)) {
    if (peersRequired) failures.push(`${file}: needs ${driver.needs}, not on PATH (BLK_REQUIRE_PEERS=1)`);
    else {
      skipped++;
      console.log(`-- ${file}: skipped, needs ${driver.needs}`);
    }
    continue;
  }
  const [command, ...commandArgs] = driver ? driver.command(js) : [process.execPath, js];
  const started = performance.now();
  const result = spawnSync(command, commandArgs, { cwd: root, encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Math.round(performance.now() - started);
  if (result.status === 0) {
    console.log(`ok ${file} (${ms} ms)`);
    continue;
  }
  const why = result.error ? String(result.error.message) : result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
  failures.push(`${file}: ${why}`);
  console.log(`FAIL ${file}: ${why}\n${result.stdout}${result.stderr}`);
}

if (tests.length > 0) {
  const result = spawnSync(bin('vitest'), ['run', '--dir', root, ...tests], { cwd: root, stdio: 'inherit', timeout: TIMEOUT_MS * 3 });
  if (result.status === 0) console.log(`ok ${tests.join(', ')} (vitest)`);
  else failures.push(`${tests.join(', ')}: vitest exit ${result.status ?? result.signal}`);
}

const ran = programs.length + tests.length - skipped;
console.log(`examples: ${ran - failures.length} passed, ${failures.length} failed, ${skipped} skipped`);
for (const failure of failures) console.error(`  ${failure}`);
process.exit(failures.length > 0 ? 1 : 0);
