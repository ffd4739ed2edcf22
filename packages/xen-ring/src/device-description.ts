import { BlockError, type BlockDevice } from '@blk/core';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * How to build a device inside the worker: import `module`, take its export `export`, and call it
 * with `options` — with `new` if it is a class, as a function (possibly async) otherwise. Must be
 * structured-cloneable.
 */
export interface DeviceDescription {
  /** A package name, a relative or absolute path, or a URL (`file:`, `data:`). */
  readonly module: string | URL;
  /** The export to use (default `default`). */
  readonly export?: string;
  /** The argument passed to it, if any. */
  readonly options?: unknown;
}

/** A description whose module is an absolute URL the worker can `import()`. */
export interface ResolvedDeviceDescription {
  readonly url: string;
  readonly export: string;
  readonly options?: unknown;
  readonly hasOptions: boolean;
}

function isUrlLike(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[a-z]:[\\/]/i.test(text);
}

/**
 * Resolves the module specifier in the calling thread, relative to `from` (a file URL or path,
 * normally the caller's `import.meta.url`; default the working directory). Bare names are
 * resolved with Node's resolver from there (the `default` export condition); for exact ESM
 * resolution pass `import.meta.resolve('pkg')` as `module`.
 */
export function resolveDeviceDescription(description: DeviceDescription, from?: string | URL): ResolvedDeviceDescription {
  if (typeof description !== 'object' || (typeof description.module !== 'string' && !(description.module instanceof URL))) {
    throw new BlockError('INVALID_ARGUMENT', 'a device description needs a module');
  }
  const exportName = description.export ?? 'default';
  if (typeof exportName !== 'string' || exportName.length === 0)
    throw new BlockError('INVALID_ARGUMENT', 'export must be a non-empty string');
  const specifier = description.module instanceof URL ? description.module.href : description.module;
  const base =
    from === undefined ? pathToFileURL(`${process.cwd()}/`) : from instanceof URL || isUrlLike(from) ? new URL(from) : pathToFileURL(from);
  let url: string;
  if (isUrlLike(specifier)) url = new URL(specifier).href;
  else if (isAbsolute(specifier)) url = pathToFileURL(specifier).href;
  else if (specifier.startsWith('./') || specifier.startsWith('../')) url = new URL(specifier, base).href;
  else {
    try {
      url = pathToFileURL(createRequire(base).resolve(specifier)).href;
    } catch (error) {
      try {
        url = import.meta.resolve(specifier);
      } catch {
        throw new BlockError('INVALID_ARGUMENT', `cannot resolve device module ${JSON.stringify(specifier)} from ${base.href}`, {
          cause: error,
        });
      }
    }
  }
  const hasOptions = 'options' in description && description.options !== undefined;
  return { url, export: exportName, hasOptions, ...(hasOptions ? { options: description.options } : {}) };
}

function looksLikeDevice(value: unknown): value is BlockDevice {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d.read === 'function' &&
    typeof d.write === 'function' &&
    typeof d.getInfo === 'function' &&
    typeof d.disconnect === 'function' &&
    typeof d.supports === 'object'
  );
}

/** Builds the device (in the worker). */
export async function loadDevice(description: ResolvedDeviceDescription): Promise<BlockDevice> {
  const module = (await import(description.url)) as Record<string, unknown>;
  const exported = module[description.export];
  if (typeof exported !== 'function')
    throw new Error(`${description.url} has no function or class export ${JSON.stringify(description.export)}`);
  const args = description.hasOptions ? [description.options] : [];
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(exported));
  const made: unknown = isClass
    ? new (exported as new (...a: unknown[]) => unknown)(...args)
    : await (exported as (...a: unknown[]) => unknown)(...args);
  if (!looksLikeDevice(made)) throw new Error(`${description.url} export ${JSON.stringify(description.export)} did not make a BlockDevice`);
  return made;
}
