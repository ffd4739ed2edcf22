import type { Permission } from '../permissions.js';
import type { SpecialWatch } from './watch.js';

/** DOMID_SELF: IS_DOMAIN_INTRODUCED answers T for it. */
export const DOMID_SELF = 0x7ff0;

export interface DomainRecord {
  readonly domid: number;
  readonly gfn: number;
  readonly eventChannel: number;
  shutdown: boolean;
}

/** Introduced domains, SET_TARGET links and the permissions of the special watch names. */
export class Domains {
  readonly #introduced = new Map<number, DomainRecord>();
  readonly #targets = new Map<number, number>();
  readonly #special = new Map<SpecialWatch, readonly Permission[]>([
    ['@introduceDomain', [{ domid: 0, access: 'n' }]],
    ['@releaseDomain', [{ domid: 0, access: 'n' }]],
  ]);

  /** dom0 is always there. */
  isIntroduced(domid: number): boolean {
    return domid === 0 || this.#introduced.has(domid);
  }

  get(domid: number): DomainRecord | undefined {
    return this.#introduced.get(domid);
  }

  /** Records a domain; returns false when it was already introduced. */
  introduce(domid: number, gfn: number, eventChannel: number): boolean {
    if (this.isIntroduced(domid)) return false;
    this.#introduced.set(domid, { domid, gfn, eventChannel, shutdown: false });
    return true;
  }

  /** Forgets a domain, its target link, and its entries in the special permissions. */
  release(domid: number, privileged: number): void {
    this.#introduced.delete(domid);
    this.#targets.delete(domid);
    for (const [name, perms] of this.#special) {
      const [first, ...rest] = perms;
      const owner = first!.domid === domid ? { domid: privileged, access: first!.access } : first!;
      this.#special.set(name, [owner, ...rest.filter((p) => p.domid !== domid)]);
    }
  }

  targetOf(domid: number): number | undefined {
    return this.#targets.get(domid);
  }

  setTarget(domid: number, target: number): void {
    this.#targets.set(domid, target);
  }

  specialPerms(name: SpecialWatch): readonly Permission[] {
    return this.#special.get(name)!;
  }

  setSpecialPerms(name: SpecialWatch, perms: readonly Permission[]): void {
    this.#special.set(name, perms);
  }
}
