import { XenbusState } from './xenbus-state.js';
import { rmIfPresent, type XenbusHandle, type XenbusStore } from './xenbus-store.js';

/** Where a virtual block device lives in xenstore. */
export interface VbdPaths {
  readonly frontendDomid: number;
  readonly backendDomid: number;
  readonly devid: number;
  /** `/local/domain/<front>/device/vbd/<devid>` */
  readonly frontendPath: string;
  /** `/local/domain/<back>/backend/vbd/<front>/<devid>` */
  readonly backendPath: string;
}

/** xvda: major 202, minor 0 (Linux's encoding of the first Xen virtual disk). */
export const DEFAULT_DEVID = 51712;

export function vbdPaths(options: { frontendDomid: number; backendDomid: number; devid?: number | undefined }): VbdPaths {
  const { frontendDomid, backendDomid, devid = DEFAULT_DEVID } = options;
  for (const [name, value] of [
    ['frontendDomid', frontendDomid],
    ['backendDomid', backendDomid],
    ['devid', devid],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return {
    frontendDomid,
    backendDomid,
    devid,
    frontendPath: `/local/domain/${frontendDomid}/device/vbd/${devid}`,
    backendPath: `/local/domain/${backendDomid}/backend/vbd/${frontendDomid}/${devid}`,
  };
}

export interface CreateVbdOptions {
  readonly frontendDomid: number;
  readonly backendDomid: number;
  readonly devid?: number | undefined;
  /** Backend `mode` key: 'w' (default) or 'r'. */
  readonly mode?: 'r' | 'w';
  /** Backend `params` key, informational (what the backend serves). */
  readonly params?: string;
}

async function setpermsIfPossible(h: XenbusHandle, path: string, permissions: readonly string[]): Promise<void> {
  if (h.setperms) await h.setperms(path, permissions);
}

/**
 * The toolstack's part (what libxl does): creates both device directories in one transaction with
 * their cross links and `state` = Initialising, each owned by its side and readable by the other
 * (when the store supports `setperms`).
 */
export async function createVbd(store: XenbusStore, options: CreateVbdOptions): Promise<VbdPaths> {
  const paths = vbdPaths(options);
  const { frontendDomid: fe, backendDomid: be, frontendPath, backendPath } = paths;
  await store.transaction(async (h) => {
    await rmIfPresent(h, frontendPath);
    await rmIfPresent(h, backendPath);
    await h.mkdir(frontendPath);
    await setpermsIfPossible(h, frontendPath, [`n${fe}`, `r${be}`]);
    await h.write(`${frontendPath}/backend`, backendPath);
    await h.write(`${frontendPath}/backend-id`, String(be));
    await h.write(`${frontendPath}/virtual-device`, String(paths.devid));
    await h.write(`${frontendPath}/device-type`, 'disk');
    await h.write(`${frontendPath}/state`, String(XenbusState.Initialising));
    await h.mkdir(backendPath);
    await setpermsIfPossible(h, backendPath, [`n${be}`, `r${fe}`]);
    await h.write(`${backendPath}/frontend`, frontendPath);
    await h.write(`${backendPath}/frontend-id`, String(fe));
    await h.write(`${backendPath}/online`, '1');
    await h.write(`${backendPath}/mode`, options.mode ?? 'w');
    await h.write(`${backendPath}/type`, 'phy');
    if (options.params !== undefined) await h.write(`${backendPath}/params`, options.params);
    await h.write(`${backendPath}/state`, String(XenbusState.Initialising));
  });
  return paths;
}

/** Removes both directories: the backend sees its directory vanish and shuts down. */
export async function removeVbd(store: XenbusStore, paths: VbdPaths): Promise<void> {
  await store.transaction(async (h) => {
    await rmIfPresent(h, paths.backendPath);
    await rmIfPresent(h, paths.frontendPath);
  });
}
