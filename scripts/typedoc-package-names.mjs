// TypeDoc plugin: names each module after its package (`@blk/core`), not its folder (`core/src`),
// since the reference is built from every package's src/index.ts in one program.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Converter } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      const match = /^([a-z0-9-]+)\/src$/.exec(module.name);
      if (!match) continue;
      const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'packages', match[1], 'package.json'), 'utf8'));
      module.name = manifest.name;
    }
  });
}
