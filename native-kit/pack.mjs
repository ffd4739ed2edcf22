#!/usr/bin/env node
// prepack/postpack of each addon: `node ../../native-kit/pack.mjs` copies this folder's shared
// files into the addon as native-kit/ (its binding.gyp and install.mjs use that copy when it is
// there), so the tarball builds on its own; `--clean` removes the copy again, so the monorepo's
// builds keep using the one shared folder.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SHARED = ['napi_kit.h', 'napi_kit.c', 'completion_list.h', 'install-addon.mjs'];
const target = join(process.cwd(), 'native-kit');

rmSync(target, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  mkdirSync(target);
  for (const file of SHARED) copyFileSync(join(import.meta.dirname, file), join(target, file));
}
