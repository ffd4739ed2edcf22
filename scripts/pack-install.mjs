#!/usr/bin/env node
// "Install only the driver you need", checked as a user would meet it. In a scratch copy of the
// built packages: `changeset version` (the first release, as it would be published), `pnpm pack`
// of every public package, then empty projects that install chosen tarballs with npm and run the
// README examples there:
//   core+ramdisk   the core and ramdisk examples; a TypeScript consumer typechecked under
//                  module nodenext and under moduleResolution bundler
//   core+nbd       the nbd examples (with ramdisk, as its README's install line says)
//   core+fmap      the tarball carries linux-x64 and linux-arm64 binaries; installed with no
//                  compiler on PATH the prebuilt addon is used and the fmap
//                  examples run; with the prebuilt binary removed (a platform without one) the
//                  install does not fail, nativeStatus() says why, and the examples still run
//   cli            `npx blk --help`, `npx blk info`, `npx blk bench` from the tarballs alone
// Needs the packages built (pnpm build) and the npm registry for typescript and @types/node;
// nothing else is fetched (@blk/* come from the tarballs). Prints what each step took.
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const scratch = mkdtempSync(join(tmpdir(), 'blk-pack-install-'));
const TYPESCRIPT = 'typescript@6.0.3';
const TYPES_NODE = '@types/node@^20.19.8';
const started = performance.now();
const failures = [];
// The projects stand for a user's machine: CI's strict addon build (a failed build is an error there)
// must not leak into their installs, which fall back to pure TypeScript as a user's would.
delete process.env.BLK_FMAP_NATIVE_STRICT;

function step(title, fn) {
  const t = performance.now();
  process.stdout.write(`== ${title}\n`);
  try {
    fn();
    process.stdout.write(`   ok (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    failures.push(`${title}: ${error.message.split('\n')[0]}`);
    process.stdout.write(`   FAILED: ${error.message}\n`);
  }
}

/** Runs a program, throwing when it fails; returns its stdout and stderr together. */
function sh(cwd, command, args, options = {}) {
  const { stdout, stderr } = run(cwd, command, args, options);
  return stdout + stderr;
}

/** Runs a program, throwing when it fails. */
function run(cwd, command, args, options = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000, ...options });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}${result.error ? `: ${result.error.message}` : ''}\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  }
  return result;
}

const json = (path) => JSON.parse(readFileSync(path, 'utf8'));
const packagesDir = join(root, 'packages');
const publicPackages = readdirSync(packagesDir)
  .filter((dir) => existsSync(join(packagesDir, dir, 'package.json')))
  .map((dir) => ({ dir, manifest: json(join(packagesDir, dir, 'package.json')) }))
  .filter(({ manifest }) => !manifest.private);
const tarballs = new Map();

step('scratch copy and changeset version', () => {
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset', 'LICENSE', 'native-kit'])
    cpSync(join(root, file), join(scratch, 'repo', file), { recursive: true });
  writeFileSync(join(scratch, 'repo', 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  for (const { dir, manifest } of publicPackages) {
    // native addons (fmap-native, rbd-native) are built at install, not into dist/
    if (!existsSync(join(packagesDir, dir, 'dist')) && manifest.gypfile !== true)
      throw new Error(`packages/${dir}/dist is missing: run pnpm build first`);
    cpSync(join(packagesDir, dir), join(scratch, 'repo', 'packages', dir), {
      recursive: true,
      filter: (path) => !/[/\\](node_modules|build|test-results\.json|\.turbo)$/.test(path),
    });
  }
  // Private workspace packages are only named by devDependencies: their manifests suffice.
  for (const dir of readdirSync(packagesDir)) {
    const manifest = join(packagesDir, dir, 'package.json');
    if (existsSync(manifest) && json(manifest).private) cpSync(manifest, join(scratch, 'repo', 'packages', dir, 'package.json'));
  }
  sh(join(scratch, 'repo'), join(root, 'node_modules', '.bin', 'changeset'), ['version']);
  // What \`pnpm install\` would link: each workspace dependency, so pnpm pack can read its version.
  const dirOf = new Map(
    readdirSync(join(scratch, 'repo', 'packages')).map((dir) => [json(join(scratch, 'repo', 'packages', dir, 'package.json')).name, dir]),
  );
  for (const [, dir] of dirOf) {
    const manifest = json(join(scratch, 'repo', 'packages', dir, 'package.json'));
    for (const [dep, range] of Object.entries({
      ...manifest.dependencies,
      ...manifest.devDependencies,
      ...manifest.peerDependencies,
      ...manifest.optionalDependencies,
    })) {
      if (!String(range).startsWith('workspace:')) continue;
      const link = join(scratch, 'repo', 'packages', dir, 'node_modules', ...dep.split('/'));
      mkdirSync(join(link, '..'), { recursive: true });
      if (!existsSync(link)) symlinkSync(join(scratch, 'repo', 'packages', dirOf.get(dep)), link);
    }
  }
  const versions = publicPackages.map(
    ({ dir }) =>
      `${json(join(scratch, 'repo', 'packages', dir, 'package.json')).name}@${json(join(scratch, 'repo', 'packages', dir, 'package.json')).version}`,
  );
  process.stdout.write(`   ${versions.join(' ')}\n`);
});

step(`pnpm -r pack, ${publicPackages.length} public packages`, () => {
  const out = join(scratch, 'tarballs');
  mkdirSync(out);
  // One pnpm for all of them; private packages (only manifests here) are left out by the filter.
  const filters = publicPackages.flatMap(({ manifest }) => ['--filter', manifest.name]);
  sh(join(scratch, 'repo'), 'pnpm', ['-r', ...filters, 'pack', '--pack-destination', out]);
  for (const { dir, manifest } of publicPackages) {
    const { version } = json(join(scratch, 'repo', 'packages', dir, 'package.json'));
    const tarball = join(out, `${manifest.name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
    if (!existsSync(tarball)) throw new Error(`pnpm pack made no ${tarball} (${readdirSync(out).join(', ')})`);
    const listing = sh(out, 'tar', ['-tzf', tarball]);
    for (const needed of ['package/package.json', 'package/README.md', 'package/LICENSE']) {
      if (!listing.split('\n').includes(needed)) throw new Error(`${manifest.name}'s tarball has no ${needed}`);
    }
    const packed = JSON.parse(run(out, 'tar', ['-xzOf', tarball, 'package/package.json']).stdout);
    const workspaceRanges = Object.entries({ ...packed.dependencies, ...packed.peerDependencies, ...packed.optionalDependencies }).filter(
      ([, range]) => String(range).startsWith('workspace:'),
    );
    if (workspaceRanges.length > 0)
      throw new Error(`${manifest.name}'s tarball still has workspace: ranges: ${workspaceRanges.map(([n]) => n).join(', ')}`);
    tarballs.set(manifest.name, tarball);
  }
  const extra = readdirSync(out).filter((file) => ![...tarballs.values()].some((t) => t.endsWith(`/${file}`)));
  if (extra.length > 0) throw new Error(`packed more than the public packages: ${extra.join(', ')}`);
  process.stdout.write(
    `   ${[...tarballs.values()]
      .map((t) => t.split('/').at(-1))
      .sort()
      .join(' ')}\n`,
  );
});

// typescript and @types/node once, outside every project, so each project holds only @blk/*.
const tools = join(scratch, 'tools');
step(`tools: npm install ${TYPESCRIPT} ${TYPES_NODE}`, () => {
  mkdirSync(tools);
  writeFileSync(join(tools, 'package.json'), '{"private":true}');
  sh(tools, 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', TYPESCRIPT, TYPES_NODE]);
});
const tsc = join(tools, 'node_modules', 'typescript', 'bin', 'tsc');

function tsconfig(project, name, compilerOptions, include) {
  writeFileSync(
    join(project, name),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022', 'esnext.disposable'],
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(tools, 'node_modules', '@types')],
        ...compilerOptions,
      },
      include,
    }),
  );
}

/** An empty ESM project with the chosen tarballs installed by npm, and the chosen examples. */
function project(name, packages, examples, env = process.env) {
  const dir = join(scratch, 'projects', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `try-${name}`, private: true, type: 'module' }));
  const specs = packages.map((p) => {
    if (!tarballs.has(p)) throw new Error(`no tarball for ${p}`);
    return tarballs.get(p);
  });
  const log = sh(dir, 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', '--foreground-scripts', ...specs], { env });
  const installed = readdirSync(join(dir, 'node_modules', '@blk'))
    .map((n) => `@blk/${n}`)
    .sort();
  const extra = installed.filter((n) => !packages.includes(n));
  if (extra.length > 0) throw new Error(`npm installed more than asked: ${extra.join(', ')}`);
  for (const example of examples) cpSync(join(root, 'examples', example), join(dir, 'examples', example));
  tsconfig(dir, 'tsconfig.json', { module: 'nodenext', moduleResolution: 'nodenext', rootDir: '.', outDir: 'out' }, [
    'examples/**/*.ts',
    '*.ts',
  ]);
  process.stdout.write(`   installed ${installed.join(' ')}\n`);
  return { dir, log };
}

/** Compiles the project's examples under nodenext and runs each with node. */
function runExamples(dir, examples, env = process.env) {
  sh(dir, process.execPath, [tsc, '-p', 'tsconfig.json']);
  for (const example of examples) {
    const js = join('out', 'examples', example.replace(/\.ts$/, '.js'));
    sh(dir, process.execPath, [js], { env, timeout: 60_000 });
    process.stdout.write(`   ran ${example}\n`);
  }
}

step('core+ramdisk: examples; a consumer typechecked under nodenext and bundler', () => {
  const examples = ['core/copy-compare.ts', 'core/backup.ts', 'ramdisk/named-and-sparse.ts'];
  const { dir } = project('core-ramdisk', ['@blk/core', '@blk/ramdisk'], examples);
  writeFileSync(
    join(dir, 'consumer.ts'),
    `import { BlockError, isBlockError, supports, type BlockDevice, type BlockInfo } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
const disk: BlockDevice = new Ramdisk({ sizeSectors: 64 });
const info: Promise<BlockInfo> = disk.getInfo();
const flags = supports({ write: true });
const error: unknown = new BlockError('OUT_OF_RANGE', 'x');
export const checks = [info, flags, isBlockError(error, 'OUT_OF_RANGE')];
`,
  );
  runExamples(dir, examples); // tsconfig.json: module nodenext, the consumer included
  process.stdout.write('   consumer typechecks under module nodenext\n');
  tsconfig(dir, 'tsconfig.bundler.json', { module: 'esnext', moduleResolution: 'bundler', noEmit: true }, ['consumer.ts']);
  sh(dir, process.execPath, [tsc, '-p', 'tsconfig.bundler.json']);
  process.stdout.write('   consumer typechecks under moduleResolution bundler\n');
});

step('core+nbd: the nbd examples', () => {
  const examples = ['nbd/server.ts', 'nbd/client.ts', 'nbd/tls-psk.ts'];
  const { dir } = project('core-nbd', ['@blk/core', '@blk/nbd', '@blk/ramdisk'], examples);
  runExamples(dir, examples);
});

step('core+fmap with no compiler on PATH: the prebuilt addon is used; without it, falls back and says why', () => {
  // PATH holds node, npm and a shell, nothing that could build the addon.
  const bin = join(scratch, 'no-compiler-bin');
  mkdirSync(bin);
  for (const program of ['node', 'npm', 'npx', 'sh']) {
    const path = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
    symlinkSync(path, join(bin, program));
  }
  const env = { ...process.env, PATH: bin };
  for (const compiler of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${compiler}`], { env }).status === 0) throw new Error(`${compiler} is still on PATH`);
  }
  // The tarball's prebuilt binaries, each for the machine its folder names (ELF e_machine).
  const ELF_MACHINE = { 'linux-x64': 62, 'linux-arm64': 183 };
  for (const [folder, machine] of Object.entries(ELF_MACHINE)) {
    const binary = execFileSync('tar', ['-xzOf', tarballs.get('@blk/fmap-native'), `package/prebuilds/${folder}/fmap_native.node`]);
    if (binary.readUInt32BE(0) !== 0x7f454c46 || binary.readUInt16LE(18) !== machine)
      throw new Error(`prebuilds/${folder}/fmap_native.node is not an ELF binary for ${folder}`);
  }
  process.stdout.write(`   the tarball carries prebuilt ${Object.keys(ELF_MACHINE).join(' and ')} binaries\n`);
  const examples = ['fmap/block-file.ts', 'fmap/thin-device.ts', 'fmap/file-device.ts'];
  const { dir, log } = project('core-fmap', ['@blk/core', '@blk/fmap', '@blk/fmap-native'], examples, env);
  const platform = `${process.platform}-${process.arch}`;
  if (!log.includes(`@blk/fmap-native: using the prebuilt binary for ${platform}`))
    throw new Error(`the install did not use the prebuilt binary:\n${log}`);
  process.stdout.write(
    `   npm said: ${log
      .split('\n')
      .find((l) => l.includes('@blk/fmap-native:'))
      ?.trim()}\n`,
  );
  runExamples(dir, examples, env);
  writeFileSync(join(dir, 'status.mjs'), "import { nativeStatus } from '@blk/fmap';\nconsole.log(JSON.stringify(nativeStatus()));\n");
  const status = () => JSON.parse(run(dir, process.execPath, ['status.mjs'], { env }).stdout);
  const prebuilt = status();
  if (prebuilt.available !== true || prebuilt.reason !== `loaded (prebuilt for ${platform})`)
    throw new Error(`nativeStatus() with the prebuilt binary: ${JSON.stringify(prebuilt)}`);
  process.stdout.write(`   nativeStatus(): ${JSON.stringify(prebuilt)}\n`);

  // A platform the tarball has no binary for: the install script builds, cannot, and says why.
  const addon = join(dir, 'node_modules', '@blk', 'fmap-native');
  rmSync(join(addon, 'prebuilds'), { recursive: true });
  const rebuilt = sh(dir, 'npm', ['rebuild', '--foreground-scripts', '@blk/fmap-native'], { env });
  const said = rebuilt.split('\n').find((l) => l.includes('@blk/fmap-native: not built'));
  if (said === undefined) throw new Error(`npm rebuild without a prebuilt binary or a compiler said:\n${rebuilt}`);
  process.stdout.write(`   without the prebuilt binary, npm said: ${said.trim()}\n`);
  runExamples(dir, examples, env);
  const fallback = status();
  if (fallback.available !== false || !String(fallback.reason).includes(`not built at install (no prebuilt binary for ${platform}; `)) {
    throw new Error(`nativeStatus() does not say why: ${JSON.stringify(fallback)}`);
  }
  process.stdout.write(`   nativeStatus(): ${JSON.stringify(fallback)}\n`);
});

step('cli alone: npx blk', () => {
  const cli = json(join(scratch, 'repo', 'packages', 'cli', 'package.json'));
  const needed = ['@blk/cli', ...Object.keys(cli.dependencies ?? {}).filter((n) => n.startsWith('@blk/'))];
  // Its @blk dependencies are not on the registry yet, so their tarballs come along.
  const closure = new Set(needed);
  for (const name of [...closure]) {
    const manifest = publicPackages.find((p) => p.manifest.name === name)?.manifest;
    for (const dep of Object.keys({ ...manifest?.dependencies, ...manifest?.optionalDependencies }))
      if (dep.startsWith('@blk/')) closure.add(dep);
  }
  const { dir } = project('cli', [...closure].sort(), []);
  const help = sh(dir, 'npx', ['--no-install', 'blk', '--help']);
  if (!help.startsWith('Usage: blk COMMAND')) throw new Error(`npx blk --help printed: ${help.slice(0, 200)}`);
  process.stdout.write(`   npx blk --help: ${help.split('\n')[0]}\n`);
  const info = sh(dir, 'npx', ['--no-install', 'blk', 'info', 'ram:64MiB']);
  process.stdout.write(`   npx blk info ram:64MiB: ${info.split('\n')[1]?.trim()}\n`);
  const bench = JSON.parse(run(dir, 'npx', ['--no-install', 'blk', 'bench', 'ram:16MiB', '--requests', '64', '--json']).stdout);
  process.stdout.write(`   npx blk bench ram:16MiB: ${bench.workloads.map((w) => `${w.name} ${Math.round(w.iops)} IOPS`).join(', ')}\n`);
});

if (!keep) rmSync(scratch, { recursive: true, force: true });
else process.stdout.write(`kept ${scratch}\n`);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  process.stdout.write(`pack-install: ${failures.length} step(s) failed in ${seconds} s\n`);
  for (const failure of failures) process.stdout.write(`  ${failure}\n`);
  process.exit(1);
}
process.stdout.write(`pack-install: every step passed in ${seconds} s\n`);
