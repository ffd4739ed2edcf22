import type { Domains } from './domains.js';
import type { ServerLimits } from './limits.js';
import type { Quotas } from './quotas.js';
import type { Store } from './store.js';
import type { ChangeEvent } from './tree-ops.js';

/** What request handlers need from the server. */
export interface ServerCore {
  readonly store: Store;
  readonly quotas: Quotas;
  readonly limits: ServerLimits;
  readonly domains: Domains;
  /** Sends the watch events for committed changes. */
  fire(events: readonly ChangeEvent[]): void;
  /** Watches held by all connections of a domain. */
  watchCount(domid: number): number;
  /** Open transactions over all connections of a domain. */
  transactionCount(domid: number): number;
  introduceDomain(domid: number, gfn: number, eventChannel: number): void;
  releaseDomain(domid: number): void;
  /** SET_TARGET: `domid` acts with `target`'s rights from now on. */
  setTarget(domid: number, target: number): void;
  /** The special watch permissions changed (they are persisted with the tree). */
  changedSpecial(): void;
  /** True once for each conflict injected with `failNextCommits`. */
  takeInjectedConflict(): boolean;
  setQuota(key: keyof Quotas, value: number): void;
  /** Throws EIO while saving the tree fails (changes are refused until it works again). */
  assertWritable(): void;
  /** Logging switched by CONTROL `log on|off`. */
  logging: boolean;
  log(message: string): void;
}
