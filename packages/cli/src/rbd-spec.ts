import { UsageError } from './cli-error.js';

/** A Ceph RBD image: `rbd:POOL/[NAMESPACE/]IMAGE[@SNAP][?conf=PATH&id=NAME&keyring=PATH]`. */
export interface RbdSpec {
  readonly kind: 'rbd';
  readonly pool: string;
  readonly namespace?: string;
  readonly image: string;
  readonly snapshot?: string | undefined;
  /** The ceph.conf, client id (`admin`) and keyring; librados's defaults when absent. */
  readonly conf?: string;
  readonly id?: string;
  readonly keyring?: string;
}

const RBD_NAME = /^[^/@?&=\s]+$/;
const RBD_QUERY_KEYS = ['conf', 'id', 'keyring'] as const;

/** `rbd:POOL/[NAMESPACE/]IMAGE[@SNAP][?conf=PATH&id=NAME&keyring=PATH]` (query values percent-decoded). */
export function parseRbdSpec(text: string, rest: string): RbdSpec {
  const bad = (why: string) => new UsageError(`bad device spec '${text}': ${why}`);
  const question = rest.indexOf('?');
  const path = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  const at = path.indexOf('@');
  const names = (at < 0 ? path : path.slice(0, at)).split('/');
  const snapshot = at < 0 ? undefined : path.slice(at + 1);
  if (names.length < 2 || names.length > 3 || !names.every((name) => RBD_NAME.test(name))) {
    throw bad('rbd: needs POOL/IMAGE or POOL/NAMESPACE/IMAGE, e.g. rbd:rbd/disk1');
  }
  if (snapshot !== undefined && !RBD_NAME.test(snapshot)) throw bad(`bad snapshot name '${snapshot}'`);
  const options: Partial<Record<(typeof RBD_QUERY_KEYS)[number], string>> = {};
  for (const pair of query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!(RBD_QUERY_KEYS as readonly string[]).includes(key))
      throw bad(`unknown rbd option '${key}' (known: ${RBD_QUERY_KEYS.join(', ')})`);
    let value: string;
    try {
      value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    } catch {
      throw bad(`bad percent-encoding in '${pair}'`);
    }
    if (value === '') throw bad(`rbd option '${key}' needs a value`);
    options[key as (typeof RBD_QUERY_KEYS)[number]] = value;
  }
  const [pool = '', second = '', third] = names;
  return {
    kind: 'rbd',
    pool,
    ...(third === undefined ? { image: second } : { namespace: second, image: third }),
    snapshot,
    ...options,
  };
}

export function formatRbdSpec(spec: RbdSpec): string {
  const query = (['conf', 'id', 'keyring'] as const)
    .filter((key) => spec[key] !== undefined)
    .map((key) => `${key}=${encodeURIComponent(spec[key] ?? '').replaceAll('%2F', '/')}`)
    .join('&');
  const names = [spec.pool, ...(spec.namespace === undefined ? [] : [spec.namespace]), spec.image].join('/');
  return `rbd:${names}${spec.snapshot === undefined ? '' : `@${spec.snapshot}`}${query === '' ? '' : `?${query}`}`;
}
