#!/usr/bin/env node
// Creates packages/<name> from scripts/template: `pnpm new-backend my-disk "what it is"`.
// The new package builds, lints and runs the conformance suite against its placeholder device
// straight away; replace src/ with the real device and keep the suite green.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [name, description = `A @blk block device`] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: pnpm new-backend <kebab-case-name> ["one-line description"]');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'packages', name);
if (existsSync(target)) {
  console.error(`packages/${name} already exists`);
  process.exit(1);
}
const className = name.replace(/(^|-)([a-z0-9])/g, (_, _dash, c) => c.toUpperCase()) + 'Device';
cpSync(join(root, 'scripts', 'template'), target, { recursive: true });
cpSync(join(root, 'LICENSE'), join(target, 'LICENSE'));

function fill(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      fill(path);
      continue;
    }
    const text = readFileSync(path, 'utf8')
      .replaceAll('__NAME__', name)
      .replaceAll('__CLASS__', className)
      .replaceAll('__DESCRIPTION__', description);
    writeFileSync(path, text);
  }
}
fill(target);
console.log(`created packages/${name} (${className})
next:
  pnpm install
  pnpm turbo run build test lint --filter=@blk/${name}

packages/${name} is private: changesets neither versions nor publishes it. When it is ready for
users, delete "private": true from its package.json and add .changeset/${name}-first-release.md
("@blk/${name}": major, as the other first releases) in the same commit.`);
