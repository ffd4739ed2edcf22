#!/usr/bin/env node
// Keeps the READMEs' TypeScript blocks and examples/ in step. A ```ts block preceded by
// `<!-- example: examples/PKG/NAME.ts -->` must show that file exactly (the file is what
// `pnpm examples` typechecks and runs); a block of declarations only is marked `<!-- types -->`.
// Any other ```ts block, and any example file no README shows, is an error.
// `--fix` rewrites each marked block from its file.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const fix = process.argv.includes('--fix');
const MARKER = /^<!-- (example: (\S+)|types) -->$/;

const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages'))
    .sort()
    .map((name) => join('packages', name, 'README.md')),
].filter((path) => existsSync(join(root, path)));

function exampleFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...exampleFiles(path));
    else if (entry.name.endsWith('.ts')) found.push(relative(root, path));
  }
  return found;
}

const problems = [];
const shown = new Set();
for (const readme of readmes) {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const marker = above >= 0 ? MARKER.exec(lines[above].trim()) : null;
    const where = `${readme}:${i + 1}`;
    if (!marker) {
      problems.push(`${where}: a ts block with no <!-- example: examples/… --> or <!-- types --> marker above it`);
    } else if (marker[2] !== undefined) {
      const file = marker[2];
      if (!existsSync(join(root, file))) {
        problems.push(`${where}: ${file} does not exist`);
      } else {
        shown.add(file);
        const code = readFileSync(join(root, file), 'utf8').replace(/\n+$/, '').split('\n');
        const block = lines.slice(i + 1, end);
        if (block.join('\n') !== code.join('\n')) {
          if (fix) {
            lines.splice(i + 1, end - i - 1, ...code);
            end = i + 1 + code.length;
            changed = true;
          } else problems.push(`${where}: the block differs from ${file} (node scripts/check-examples.mjs --fix copies the file in)`);
        }
      }
    }
    i = end;
  }
  if (changed) writeFileSync(join(root, readme), lines.join('\n'));
}
for (const file of exampleFiles(join(root, 'examples'))) {
  if (!shown.has(file)) problems.push(`${file}: no README shows it`);
}
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exit(1);
console.log(`README examples: ${shown.size} file(s) shown exactly, in ${readmes.length} README(s)`);
