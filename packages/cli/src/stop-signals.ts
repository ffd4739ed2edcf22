import { EXIT } from './cli-error.js';

export type StopSignalName = 'SIGINT' | 'SIGTERM';

/** SIGINT/SIGTERM turned into an AbortSignal, for the duration of one job. */
export interface StopSignals {
  /** Aborted at the first SIGINT or SIGTERM; its reason is a StopRequested. */
  readonly signal: AbortSignal;
  /** Resolves with the signal's name at the first SIGINT or SIGTERM. */
  readonly stopped: Promise<StopSignalName>;
  /** The signal received, if any. */
  received(): StopSignalName | undefined;
  /** Puts the default handlers back. */
  dispose(): void;
}

/** The abort reason when a user asked the job to stop. */
export class StopRequested extends Error {
  override readonly name = 'StopRequested';
  readonly signalName: StopSignalName;

  constructor(signalName: StopSignalName) {
    super(`stopped by ${signalName}`);
    this.signalName = signalName;
  }
}

export function exitCodeFor(signalName: StopSignalName): number {
  return signalName === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED;
}

/**
 * Catches SIGINT and SIGTERM: the first one aborts `signal` so the job can finish cleanly; a
 * second one gives up waiting and exits at once (128 + signal number), after `onForce`.
 */
export function catchStopSignals(onForce: (name: StopSignalName) => void = () => undefined): StopSignals {
  const controller = new AbortController();
  let first: StopSignalName | undefined;
  let resolveStopped: (name: StopSignalName) => void = () => undefined;
  const stopped = new Promise<StopSignalName>((resolve) => (resolveStopped = resolve));
  const handler = (name: StopSignalName) => {
    if (first !== undefined) {
      onForce(name);
      process.exit(exitCodeFor(first));
    }
    first = name;
    controller.abort(new StopRequested(name));
    resolveStopped(name);
  };
  const onInt = () => {
    handler('SIGINT');
  };
  const onTerm = () => {
    handler('SIGTERM');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    stopped,
    received: () => first,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
