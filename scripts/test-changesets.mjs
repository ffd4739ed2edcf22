#!/usr/bin/env node
// Checks what changesets will really do, in a scratch copy of the workspace manifests (this
// repository is never touched):
// 1. every unreleased public package (version 0.0.0) has exactly one pending changeset, its
//    first release, a major: the first `changeset version` gives every package 1.0.0 and a
//    one-entry CHANGELOG; private packages are never versioned;
// 2. after that release, probe changesets on @blk/core show how dependents move: a core minor or
//    patch leaves @blk/conformance (peer dependency ^1.0.0) alone, a core major bumps it major.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const changesetBin = join(root, 'node_modules', '.bin', 'changeset');
const scratch = mkdtempSync(join(tmpdir(), 'blk-changesets-'));
const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
};
const json = (path) => JSON.parse(readFileSync(path, 'utf8'));

function sh(command, args) {
  return execFileSync(command, args, { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function commit(message) {
  sh('git', ['add', '-A']);
  sh('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-qm', message]);
}
function plan(name) {
  const out = `${name}.json`;
  sh(changesetBin, ['status', `--output=${out}`]);
  const { releases } = json(join(scratch, out));
  rmSync(join(scratch, out));
  return new Map(releases.filter((r) => r.type !== 'none').map((r) => [r.name, { type: r.type, newVersion: r.newVersion }]));
}
function probe(bump) {
  const file = join(scratch, '.changeset', `probe-core-${bump}.md`);
  writeFileSync(file, `---\n"@blk/core": ${bump}\n---\n\nProbe.\n`);
  const releases = plan(`probe-${bump}`);
  rmSync(file);
  return releases;
}
const show = (releases) => [...releases].map(([name, r]) => `${name} ${r.type}→${r.newVersion}`).join(', ') || 'nothing';

try {
  // The manifests and changesets are all changesets reads.
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset'])
    cpSync(join(root, file), join(scratch, file), { recursive: true });
  const workspaces = ['examples', ...readdirSync(join(root, 'packages')).map((name) => join('packages', name))];
  const manifests = new Map();
  for (const dir of workspaces) {
    if (!existsSync(join(root, dir, 'package.json'))) continue;
    cpSync(join(root, dir, 'package.json'), join(scratch, dir, 'package.json'));
    if (existsSync(join(root, dir, 'CHANGELOG.md'))) cpSync(join(root, dir, 'CHANGELOG.md'), join(scratch, dir, 'CHANGELOG.md'));
    manifests.set(dir, json(join(root, dir, 'package.json')));
  }
  sh('git', ['init', '-q', '-b', 'main']);
  commit('workspace');

  // 1. The first release.
  const pending = readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  const unreleased = [...manifests].filter(([, m]) => !m.private && m.version === '0.0.0');
  for (const [dir, manifest] of unreleased) {
    const mine = pending.filter((f) => readFileSync(join(root, '.changeset', f), 'utf8').includes(`"${manifest.name}":`));
    check(
      mine.length === 1 && mine[0] === `${dir.split('/').pop()}-first-release.md`,
      `${manifest.name} is unreleased: it needs exactly one changeset, .changeset/${dir.split('/').pop()}-first-release.md (found: ${mine.join(', ') || 'none'}); fold later notes into it`,
    );
  }
  const first = plan('first');
  for (const [dir, manifest] of manifests) {
    const release = first.get(manifest.name);
    if (manifest.private) check(release === undefined, `${manifest.name} is private but would be versioned`);
    else if (manifest.version === '0.0.0')
      check(
        release?.newVersion === '1.0.0',
        `${manifest.name} (${dir}) would be released as ${release?.newVersion ?? 'nothing'}, not 1.0.0`,
      );
  }
  console.log(`first release: ${show(first)}`);

  sh(changesetBin, ['version']);
  for (const [dir, manifest] of manifests) {
    if (manifest.private) {
      check(
        json(join(scratch, dir, 'package.json')).version === manifest.version,
        `${manifest.name} is private but changeset version changed it`,
      );
      continue;
    }
    if (manifest.version !== '0.0.0') continue;
    const log = readFileSync(join(scratch, dir, 'CHANGELOG.md'), 'utf8');
    const versions = log.match(/^## .*/gm) ?? [];
    check(versions.length === 1 && versions[0] === '## 1.0.0', `${dir}/CHANGELOG.md: versions ${versions.join(', ')}`);
    // One entry, the first release; changesets adds "Updated dependencies" lines for internal ones.
    const [, major = '', patches = ''] = /### Major Changes\n([\s\S]*?)(?:### Patch Changes\n([\s\S]*))?$/.exec(log) ?? [];
    const entries = major.match(/^- /gm) ?? [];
    const notes = patches.split('\n').filter((line) => line.trim() !== '' && !/^- Updated dependencies|^ {2}- @blk\//.test(line));
    check(entries.length === 1, `${dir}/CHANGELOG.md: ${entries.length} major entries (a first release has one)`);
    check(
      notes.length === 0 && !log.includes('### Minor Changes'),
      `${dir}/CHANGELOG.md: notes besides the first release: ${notes.join(' | ')}`,
    );
  }
  commit('version');

  // 2. How a @blk/core release moves its dependents.
  const minor = probe('minor');
  console.log(`core minor: ${show(minor)}`);
  check(minor.get('@blk/core')?.newVersion === '1.1.0', 'a core minor does not give core 1.1.0');
  check(![...minor.values()].some((r) => r.type === 'major'), `a core minor bumps something major: ${show(minor)}`);
  check(!minor.has('@blk/conformance'), 'a core minor bumps @blk/conformance (its peer range ^1.0.0 still holds)');

  const patch = probe('patch');
  console.log(`core patch: ${show(patch)}`);
  check(patch.size === 1 && patch.has('@blk/core'), `a core patch releases more than core: ${show(patch)}`);

  const major = probe('major');
  console.log(`core major: ${show(major)}`);
  check(major.get('@blk/conformance')?.type === 'major', 'a core major leaves @blk/conformance in a peer range it no longer satisfies');
  for (const [, manifest] of manifests) {
    if (manifest.private || manifest.name === '@blk/core') continue;
    const onCore = manifest.dependencies?.['@blk/core'] !== undefined;
    if (onCore)
      check(
        major.get(manifest.name)?.type === 'patch',
        `${manifest.name} depends on @blk/core; a core major should patch it to take the new range`,
      );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

for (const problem of problems) console.error(`changesets: ${problem}`);
if (problems.length > 0) process.exit(1);
console.log('changesets: ok');
