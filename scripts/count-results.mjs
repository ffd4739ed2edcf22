#!/usr/bin/env node
// Sums the vitest JSON reports (packages/*/test-results.json) and prints the closing line
// "N passed, N failed, N skipped". Exits 1 when a test failed, a suite failed to load, or a
// package with a test script left no report.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', name);
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const scripts = JSON.parse(readFileSync(manifest, 'utf8')).scripts ?? {};
  if (!scripts.test) continue;
  const reportPath = join(dir, 'test-results.json');
  if (!existsSync(reportPath)) {
    problems.push(`${name}: no test-results.json (its tests did not run or crashed)`);
    continue;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const brokenSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed'));
  for (const suite of brokenSuites) problems.push(`${name}: ${suite.name} failed to run: ${String(suite.message).split('\n')[0]}`);
  console.log(`${name.padEnd(14)} ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${(report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)} skipped`);
}
for (const problem of problems) console.log(`problem: ${problem}`);
failed += problems.length;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
