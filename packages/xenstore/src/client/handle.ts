import { XenstoreError, hasCode } from '../errors.js';
import { fromUtf8, splitStrings, type Bytes } from '../codec/payload.js';
import { decodeBoolean, decodeDirectory, decodeDirectoryPart, decodeOk, decodePermissions, decodeString } from '../codec/replies.js';
import { requests, type Request } from '../codec/requests.js';
import { toPermission, type Permission } from '../permissions.js';

/** What a handle needs from its client. */
export interface RequestSink {
  send<T = Uint8Array>(request: Request, txId: number, decode?: (payload: Uint8Array) => T): Promise<T>;
  /** Bookkeeping for watches set through a handle, so `resume` can set them again. */
  watchAdded(path: string, token: string, depth: number | undefined): void;
  watchRemoved(path: string, token: string): void;
}

function checkDomid(domid: number, what = 'domid'): number {
  if (!Number.isInteger(domid) || domid < 0 || domid > 0xffff_ffff) {
    throw new XenstoreError('EINVAL', `${what} must be an integer in 0..2^32-1, got ${domid}`);
  }
  return domid;
}

function pathError(path: string): XenstoreError | undefined {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    return new XenstoreError('EINVAL', `invalid path ${JSON.stringify(path)}`);
  }
  return undefined;
}

function checkPath(path: string): string {
  const error = pathError(path);
  if (error) throw error;
  return path;
}

/**
 * The operations of one `immediate`, `transaction` or `wait` run. Path operations carry the run's
 * transaction id; relative paths are resolved by the server against `/local/domain/<own domid>`.
 */
export class Handle {
  readonly #sink: RequestSink;
  readonly #txId: number;
  readonly #touched: Set<string> | undefined;

  /** @internal */
  constructor(sink: RequestSink, txId: number, touched?: Set<string>) {
    this.#sink = sink;
    this.#txId = txId;
    this.#touched = touched;
  }

  /** 0 outside a transaction. */
  get transactionId(): number {
    return this.#txId;
  }

  #path<T = Uint8Array>(request: Request, decode?: (payload: Uint8Array) => T): Promise<T> {
    return this.#sink.send(request, this.#txId, decode);
  }

  #observe(path: string): void {
    this.#touched?.add(path);
  }

  /** The value as UTF-8 text. Rejects with code `ENOENT` when the node does not exist. */
  read(path: string): Promise<string> {
    const error = pathError(path);
    if (error) return Promise.reject(error);
    this.#observe(path);
    return this.#path(requests.read(path), fromUtf8);
  }

  /** The value's bytes exactly as stored. */
  readBytes(path: string): Promise<Uint8Array> {
    const error = pathError(path);
    if (error) return Promise.reject(error);
    this.#observe(path);
    return this.#path(requests.read(path));
  }

  /** True when the node exists (a READ that does not fail with ENOENT). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.readBytes(path);
      return true;
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Creates the node and any missing parents; strings are written as UTF-8. */
  write(path: string, value: Bytes): Promise<void> {
    const error = pathError(path);
    if (error) return Promise.reject(error);
    return this.#path(requests.write(path, value), decodeOk);
  }

  /** Ensures the node exists (and its parents), leaving existing values alone. */
  async mkdir(path: string): Promise<void> {
    decodeOk(await this.#path(requests.mkdir(checkPath(path))));
  }

  /** Removes the node and everything below it; fine if it is already gone but its parent exists. */
  async rm(path: string): Promise<void> {
    decodeOk(await this.#path(requests.rm(checkPath(path))));
  }

  /**
   * The names of the node's children. Lists too long for one reply (the server answers E2BIG) are
   * fetched in slices with DIRECTORY_PART, restarting if the node changes in between.
   */
  async directory(path: string): Promise<string[]> {
    this.#observe(checkPath(path));
    try {
      return decodeDirectory(await this.#path(requests.directory(path)));
    } catch (error) {
      if (!hasCode(error, 'E2BIG')) throw error;
    }
    return this.#directoryInParts(path);
  }

  async #directoryInParts(path: string): Promise<string[]> {
    for (let attempt = 0; attempt < 16; attempt++) {
      const children: string[] = [];
      let offset = 0;
      let generation: string | undefined;
      for (;;) {
        const part = decodeDirectoryPart(await this.#path(requests.directoryPart(path, offset)));
        if (generation === undefined) generation = part.generation;
        else if (generation !== part.generation) break;
        children.push(...part.children);
        offset += part.length;
        if (part.done) return children;
        if (part.length === 0) throw new XenstoreError('EPROTO', 'DIRECTORY_PART made no progress');
      }
    }
    throw new XenstoreError('EAGAIN', `the children of ${path} kept changing while being listed`);
  }

  async getperms(path: string): Promise<Permission[]> {
    this.#observe(checkPath(path));
    return decodePermissions(await this.#path(requests.getPerms(path)));
  }

  /** Sets the node's permission list: the first entry is the owner and the default. */
  async setperms(path: string, permissions: readonly (Permission | string)[]): Promise<void> {
    if (permissions.length === 0) throw new XenstoreError('EINVAL', 'a permission list needs at least the owner entry');
    const list = permissions.map(toPermission);
    decodeOk(await this.#path(requests.setPerms(checkPath(path), list)));
  }

  /**
   * Registers a watch; its events (starting with one for `path` itself) reach the client's
   * `onWatch` listeners. `depth` limits matches to that many levels below `path` (an extension
   * C xenstored 4.17 does not understand).
   */
  async watch(path: string, token: string, options: { depth?: number } = {}): Promise<void> {
    checkPath(path);
    if (token.includes('\0')) throw new XenstoreError('EINVAL', 'a token cannot contain NUL');
    decodeOk(await this.#sink.send(requests.watch(path, token, options.depth), 0));
    this.#sink.watchAdded(path, token, options.depth);
  }

  /** Removes a watch; rejects with ENOENT when there was none. */
  async unwatch(path: string, token: string): Promise<void> {
    checkPath(path);
    try {
      decodeOk(await this.#sink.send(requests.unwatch(path, token), 0));
    } finally {
      this.#sink.watchRemoved(path, token);
    }
  }

  /** `/local/domain/<domid>`, as the server spells it. */
  async getdomainpath(domid: number): Promise<string> {
    return decodeString(await this.#sink.send(requests.getDomainPath(checkDomid(domid)), 0));
  }

  /** Tells the server about a domain (privileged callers only). */
  async introduce(domid: number, gfn: number, eventChannel: number): Promise<void> {
    checkDomid(domid);
    if (!Number.isSafeInteger(gfn)) throw new XenstoreError('EINVAL', `gfn must be an integer, got ${gfn}`);
    checkDomid(eventChannel, 'event channel');
    decodeOk(await this.#sink.send(requests.introduce(domid, gfn, eventChannel), 0));
  }

  /** Disconnects a domain (privileged callers only). */
  async release(domid: number): Promise<void> {
    decodeOk(await this.#sink.send(requests.release(checkDomid(domid)), 0));
  }

  async isDomainIntroduced(domid: number): Promise<boolean> {
    return decodeBoolean(await this.#sink.send(requests.isDomainIntroduced(checkDomid(domid)), 0));
  }

  /** RESUME: re-arms `@releaseDomain` for a domain that was shut down (privileged callers only). */
  async resumeDomain(domid: number): Promise<void> {
    decodeOk(await this.#sink.send(requests.resume(checkDomid(domid)), 0));
  }

  /** Lets `domid` act on `target`'s behalf (privileged callers only). */
  async setTarget(domid: number, target: number): Promise<void> {
    decodeOk(await this.#sink.send(requests.setTarget(checkDomid(domid), checkDomid(target, 'target')), 0));
  }

  /** CONTROL (formerly DEBUG): `['print', 'hello']`, `['quota']`, `['help']`…; the reply's strings. */
  async debug(args: readonly string[]): Promise<string[]> {
    if (args.length === 0) throw new XenstoreError('EINVAL', 'CONTROL needs a command');
    const reply = await this.#sink.send(requests.control(args), 0);
    const { strings, rest } = splitStrings(reply);
    if (rest.length > 0) strings.push(fromUtf8(rest));
    return strings;
  }

  /** RESTRICT was removed in Xen 4.9; kept for API parity. Modern servers (ours too) answer ENOSYS. */
  async restrict(domid: number): Promise<void> {
    decodeOk(await this.#sink.send(requests.restrict(checkDomid(domid)), 0));
  }
}
