import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { median } from './bench.js';

/**
 * Soak benchmarks: a server in its own process, attackers in another, a well-behaved client in
 * the parent. The server process runs a `ServerProbe` and answers `{ probe: 'reset' | 'read' }`
 * messages, so each phase gets its own worst event-loop stall and peak RSS.
 */

export interface ProbeReading {
  /** Longest event-loop delay seen since the last reset (ms, monitorEventLoopDelay at 10 ms resolution). */
  readonly maxStallMs: number;
  /** Highest RSS sampled (every 20 ms) since the last reset, MiB. */
  readonly peakRssMiB: number;
}

/** Watches this process's event loop and RSS; hooked to IPC so the parent can reset and read it. */
export function startServerProbe(): { reset(): void; read(): ProbeReading; stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  sampler.unref();
  const probe = {
    reset() {
      delay.reset();
      peak = process.memoryUsage.rss();
    },
    read(): ProbeReading {
      peak = Math.max(peak, process.memoryUsage.rss());
      return { maxStallMs: delay.max / 1e6, peakRssMiB: peak / 2 ** 20 };
    },
    stop() {
      clearInterval(sampler);
      delay.disable();
    },
  };
  process.on('message', (message: { id?: number; probe?: string }) => {
    if (message.probe === 'reset') probe.reset();
    if (message.probe === 'reset' || message.probe === 'read') process.send?.({ id: message.id, reading: probe.read() });
  });
  return probe;
}

/** A child process speaking request/reply messages `{ id, ... }` over IPC. */
export class SoakChild {
  readonly #child: ChildProcess;
  #next = 1;
  readonly #waiting = new Map<number, (reply: Record<string, unknown>) => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: Record<string, unknown>) => {
      const id = message.id as number | undefined;
      const resolve = id === undefined ? undefined : this.#waiting.get(id);
      if (resolve) {
        this.#waiting.delete(id!);
        resolve(message);
      }
    });
  }

  /** Forks `script` (this process's loader flags carry over, so .ts works under tsx) and waits for its `{ ready }` message. */
  static async start(script: string, args: readonly string[]): Promise<SoakChild> {
    const child = fork(script, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }) => {
        if (m.ready) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new SoakChild(child);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.send({ ...message, id });
    });
  }

  async probe(what: 'reset' | 'read'): Promise<ProbeReading> {
    return (await this.request({ probe: what })).reading as ProbeReading;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) {
        resolve();
        return;
      }
      this.#child.once('exit', () => resolve());
      this.#child.kill('SIGTERM');
    });
  }
}

/** Answers `{ id, ... }` requests in a child with `handle`'s result (spread into the reply). */
export function answerRequests(handle: (message: Record<string, unknown>) => Promise<Record<string, unknown> | undefined>): void {
  process.on('message', (message: Record<string, unknown>) => {
    if ('probe' in message) return;
    void handle(message).then((reply) => process.send?.({ ...reply, id: message.id }));
  });
}

export interface SoakRow {
  readonly attack: string;
  /** Normal client's operations per second alone, just before. */
  readonly alone: number;
  /** …and beside the attacker. */
  readonly attacked: number;
  readonly maxStallMs: number;
  /** The server's worst stall while the client ran alone: the machine's own noise, for comparison. */
  readonly aloneStallMs: number;
  readonly peakRssMiB: number;
  /** What the server counted (queued bytes, drops, refusals…), shown as given. */
  readonly notes?: string;
}

export interface AttackRounds {
  readonly rounds: number;
  /** The server process, whose probe measures stalls and RSS. */
  readonly server: SoakChild;
  /** One measured run of the normal client: its operations per second. */
  readonly run: () => Promise<number>;
  readonly start: () => Promise<void>;
  /** Called while the attack is still on, after the attacked run: the row's notes (the last round's are kept). */
  readonly notes: () => Promise<string>;
  readonly stop: () => Promise<void>;
}

/**
 * The normal client alone, then beside the attack, `rounds` times in turn (the machine is shared:
 * medians, never one sample), with the server's worst stalls and peak RSS over all of them.
 */
export async function measureAttack(attack: string, o: AttackRounds): Promise<SoakRow> {
  const alone: number[] = [];
  const attacked: number[] = [];
  let maxStallMs = 0;
  let aloneStallMs = 0;
  let peakRssMiB = 0;
  let notes = '';
  for (let round = 0; round < o.rounds; round++) {
    await o.server.probe('reset');
    alone.push(await o.run());
    aloneStallMs = Math.max(aloneStallMs, (await o.server.probe('read')).maxStallMs);
    await o.server.probe('reset');
    await o.start();
    attacked.push(await o.run());
    const reading = await o.server.probe('read');
    maxStallMs = Math.max(maxStallMs, reading.maxStallMs);
    peakRssMiB = Math.max(peakRssMiB, reading.peakRssMiB);
    notes = await o.notes();
    await o.stop();
  }
  return { attack, alone: median(alone), attacked: median(attacked), maxStallMs, aloneStallMs, peakRssMiB, notes };
}

/** Prints the soak table: throughput ratio (attacked / alone, target ≥ 0.8), worst stall (target ≤ 100 ms), peak RSS. */
export function reportSoak(title: string, rows: readonly SoakRow[]): void {
  const lines = rows.map((r) => {
    const ratio = r.attacked / r.alone;
    return [
      r.attack,
      `${r.alone.toFixed(0)}/s`,
      `${r.attacked.toFixed(0)}/s`,
      `${ratio.toFixed(2)}×${ratio >= 0.8 ? '' : ' (< 0.8)'}`,
      `${r.maxStallMs.toFixed(1)} ms${r.maxStallMs <= 100 ? '' : ' (> 100)'}`,
      `${r.aloneStallMs.toFixed(1)} ms`,
      `${r.peakRssMiB.toFixed(0)} MiB`,
      r.notes ?? '',
    ];
  });
  const header = ['attack', 'alone', 'beside attacker', 'ratio', 'worst stall', 'stall alone', 'server peak RSS', 'server counters'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(render(header));
  console.log(render(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(render(line));
}

/** Runs `step` repeatedly for `ms` with `workers` running concurrently; returns completed steps per second. */
export async function throughput(step: () => Promise<unknown>, ms: number, workers = 1): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        await step();
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}
