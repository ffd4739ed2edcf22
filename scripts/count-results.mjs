#!/usr/bin/env node
// Checks the vitest JSON reports (packages/*/test-results.json) and prints the closing line
// "N passed, N failed, N skipped" last. Every skip is listed with the number of tests it hides.
// Exits 1 when a test failed, a suite failed to load, or a package with a test script left no report.
// With --ci (what .ci/run passes) it also fails when
//   - a package passed fewer tests than its floor in scripts/test-floors.json,
//   - a test was skipped other than by a device's `supports` manifest (a conformance test
//     skipped at run time with a reason, under a "... conforms to the @blk BlockDevice contract" block),
//   - a package's built entry points (dist/) or a native addon (fmap-native, rbd-native) are missing.
// --write-floors records today's passed counts as the floors (after a green run with every peer).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const floorsPath = join(root, 'scripts', 'test-floors.json');
const ci = process.argv.includes('--ci');
const writeFloors = process.argv.includes('--write-floors');
/** The root block of every conformance suite; its run-time skips follow the device's manifest. */
const CONFORMANCE_ROOT = /conforms to the @blk BlockDevice contract$/;
const SKIP_IN_TITLE = ' — skipped: ';
/** Built files CI must have besides each package's exports. */
const ARTIFACTS = { 'fmap-native': ['build/Release/fmap_native.node'], 'rbd-native': ['build/Release/rbd_native.node'] };

const floors = existsSync(floorsPath) ? JSON.parse(readFileSync(floorsPath, 'utf8')).floors : {};
const counts = {};
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
const skipLines = [];

/** Why a skipped test did not run, and whether a supports manifest declares it. */
function skipReason(test) {
  const note = test.meta?.skipNote;
  if (note && test.ancestorTitles.some((t) => CONFORMANCE_ROOT.test(t))) return { declared: true, reason: `manifest: ${note}` };
  if (note) return { declared: false, reason: note };
  const titled = [...test.ancestorTitles, test.title].find((t) => t.includes(SKIP_IN_TITLE));
  if (titled) return { declared: false, reason: titled.slice(titled.indexOf(SKIP_IN_TITLE) + SKIP_IN_TITLE.length) };
  return { declared: false, reason: test.status === 'todo' ? 'todo' : 'skipped without a reason (it.skip / describe.skip)' };
}

/** Files a package's exports point at, plus ARTIFACTS: CI builds them all. */
function missingBuild(name, dir, manifest) {
  const targets = new Set(ARTIFACTS[name] ?? []);
  const walk = (value) => {
    if (typeof value === 'string') targets.add(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  return [...targets].filter((target) => !existsSync(join(dir, target)));
}

for (const name of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', name);
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (ci)
    for (const target of missingBuild(name, dir, manifest)) problems.push(`${name}: ${target} is missing (the build did not make it)`);
  if (!manifest.scripts?.test) continue;
  const reportPath = join(dir, 'test-results.json');
  if (!existsSync(reportPath)) {
    problems.push(`${name}: no test-results.json (its tests did not run or crashed)`);
    continue;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const groups = new Map();
  let notRun = 0;
  for (const suite of report.testResults ?? []) {
    const file = suite.name.slice(dir.length + 1);
    if (suite.status === 'failed' && suite.assertionResults.every((a) => a.status !== 'failed')) {
      problems.push(`${name}: ${file} failed to run: ${String(suite.message).split('\n')[0]}`);
    }
    for (const test of suite.assertionResults) {
      if (test.status !== 'skipped' && test.status !== 'pending' && test.status !== 'todo') continue;
      notRun++;
      const { declared, reason } = skipReason(test);
      const key = `${declared ? '' : file}\0${reason}`;
      const group = groups.get(key) ?? { declared, file, reason, tests: 0 };
      group.tests++;
      groups.set(key, group);
    }
  }
  // every test that did not run, one by one (vitest's own pending count misses some inside skipped blocks)
  const own = { passed: report.numPassedTests ?? 0, failed: report.numFailedTests ?? 0, skipped: notRun };
  counts[name] = own.passed;
  passed += own.passed;
  failed += own.failed;
  skipped += own.skipped;
  const floor = floors[name];
  const floorNote = floor === undefined ? '' : ` (floor ${floor})`;
  console.log(`${name.padEnd(14)} ${own.passed} passed${floorNote}, ${own.failed} failed, ${own.skipped} skipped`);
  if (ci && floor === undefined) problems.push(`${name}: no floor in scripts/test-floors.json`);
  if (ci && floor !== undefined && own.passed < floor) problems.push(`${name}: ${own.passed} tests passed, below its floor of ${floor}`);
  const sorted = [...groups.values()].sort((a, b) => b.tests - a.tests);
  const declared = sorted.filter((g) => g.declared);
  if (declared.length > 0) {
    const total = declared.reduce((sum, g) => sum + g.tests, 0);
    skipLines.push(
      `skip: ${name}: ${total} declared by supports manifests (${declared.map((g) => `${g.reason.slice('manifest: '.length)} ×${g.tests}`).join(', ')})`,
    );
  }
  for (const group of sorted.filter((g) => !g.declared)) {
    skipLines.push(`skip: ${name} ${group.file}: ${group.tests} test${group.tests === 1 ? '' : 's'} hidden, ${group.reason}`);
    if (ci)
      problems.push(`${name}: ${group.tests} test(s) in ${group.file} skipped, not declared by a supports manifest (${group.reason})`);
  }
}
for (const line of skipLines) console.log(line);
for (const problem of problems) console.log(`problem: ${problem}`);
failed += problems.length;
if (writeFloors) {
  if (failed > 0) {
    console.log('floors not written: the run has failures');
  } else {
    const note =
      'Per package: the fewest tests that must pass in CI (scripts/count-results.mjs --ci). Raise with --write-floors after a green run with every peer; lower only with the reason in the commit.';
    writeFileSync(floorsPath, `${JSON.stringify({ $comment: note, floors: counts }, null, 2)}\n`);
    console.log(`floors written to ${floorsPath.slice(root.length + 1)}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
