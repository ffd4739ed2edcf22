import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** The nearest directory at or above `from` that holds a pnpm-workspace.yaml, or undefined. */
export function findWorkspaceRoot(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

export interface WorkspacePackage {
  readonly name: string;
  readonly path: string;
  readonly scripts: Readonly<Record<string, string>>;
}

/** Every package of the workspace (as pnpm lists them, the root left out), sorted by name. */
export async function listWorkspacePackages(root: string, pnpm = 'pnpm'): Promise<WorkspacePackage[]> {
  const { stdout } = await promisify(execFile)(pnpm, ['-r', 'ls', '--json', '--depth', '-1'], { cwd: root, maxBuffer: 16 << 20 });
  const listed = JSON.parse(stdout) as { name?: unknown; path?: unknown }[];
  const packages: WorkspacePackage[] = [];
  for (const entry of listed) {
    if (typeof entry.name !== 'string' || typeof entry.path !== 'string' || resolve(entry.path) === resolve(root)) continue;
    const manifest = JSON.parse(await readFile(join(entry.path, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    packages.push({ name: entry.name, path: entry.path, scripts: manifest.scripts ?? {} });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}
