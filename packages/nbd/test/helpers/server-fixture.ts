import type { BlockDevice } from '@blk/core';
import { makeTempDir } from '@blk/test-kit';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createServer, type NbdExport, type NbdServer, type NbdServerOptions } from '../../src/index.js';
import { RawClient } from './raw-client.js';

export interface ServerFixture {
  readonly server: NbdServer;
  /** Unix socket path the server listens on. */
  readonly path: string;
  readonly uri: string;
  readonly dir: string;
  /** Errors the server reported through onError. */
  readonly errors: Error[];
}

/** A server on a Unix socket in a temp dir for the whole file, closed (and the dir removed) afterwards. */
export function useServer(options: Partial<NbdServerOptions> & { exports?: NbdServerOptions['exports'] } = {}): ServerFixture {
  const fixture = { errors: [] as Error[] } as { -readonly [K in keyof ServerFixture]: ServerFixture[K] };
  let remove: (() => void) | undefined;
  beforeAll(async () => {
    const dir = makeTempDir('blk-nbd-');
    remove = () => {
      dir.remove();
    };
    fixture.dir = dir.path;
    fixture.server = createServer({ exports: {}, ...options, onError: (e) => fixture.errors.push(e) });
    fixture.path = join(dir.path, 'nbd.sock');
    const address = await fixture.server.listen({ path: fixture.path });
    fixture.uri = address.uri!;
  });
  afterAll(async () => {
    await fixture.server.close();
    remove?.();
  });
  return fixture;
}

let counter = 0;

/** Registers `device` under a fresh name and returns the name. */
export function exportFresh(fixture: ServerFixture, device: BlockDevice | NbdExport): string {
  const name = `export-${++counter}`;
  fixture.server.setExport(name, device);
  return name;
}

/**
 * Many servers per test file, each on its own Unix socket in one temp dir, plus raw clients:
 * clients are closed after each test, servers and the dir after the file.
 */
export function useServers(prefix: string): {
  readonly serve: (options: NbdServerOptions) => Promise<{ server: NbdServer; path: string; errors: Error[] }>;
  readonly client: (path: string) => Promise<RawClient>;
} {
  let dir: { path: string; remove(): void } | undefined;
  const servers: NbdServer[] = [];
  const clients: RawClient[] = [];
  let sockets = 0;
  beforeAll(() => {
    dir = makeTempDir(`blk-nbd-${prefix}-`);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    dir?.remove();
  });
  return {
    serve: async (options) => {
      const errors: Error[] = [];
      const server = createServer({ ...options, onError: (e) => errors.push(e) });
      servers.push(server);
      const path = join(dir!.path, `${prefix}-${++sockets}.sock`);
      await server.listen({ path });
      return { server, path, errors };
    },
    client: async (path) => {
      const c = await RawClient.connect(path);
      clients.push(c);
      return c;
    },
  };
}
