import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomFrom } from './sim-disk.js';

/**
 * A child started ahead of its round: Node's start-up (a few hundred ms on a loaded two-core
 * machine) overlaps the rounds before it. Protocol: the child prints "W" once it has loaded,
 * reads one JSON line (its job) on stdin, prints "R" when the file is open, "C" after each
 * flush, and works until it is killed; all with synchronous writes to fd 1, which only pace the
 * schedule. What the test checks comes from a log file the child writes synchronously (see the
 * fixtures): process.stdout to a pipe is asynchronous in Node, and the parent may see a child's
 * exit before its last output, so stdout alone cannot tell what was flushed.
 */
function count(text: string, mark: string): number {
  let n = 0;
  for (let at = text.indexOf(mark); at >= 0; at = text.indexOf(mark, at + mark.length)) n++;
  return n;
}

class WarmChild {
  readonly #proc: ChildProcess;
  readonly #closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #out = '';
  #stderr = '';
  #waiters: { mark: string; times: number; resolve: () => void }[] = [];

  constructor(script: string) {
    this.#proc = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#out += d;
      this.#waiters = this.#waiters.filter((w) => {
        if (count(this.#out, w.mark) < w.times) return true;
        w.resolve();
        return false;
      });
    });
    this.#proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
    this.#closed = new Promise((resolve) => {
      this.#proc.on('close', (code, signal) => {
        resolve({ code, signal });
      });
    });
  }

  /** Resolves when the child printed `mark` (`times` times); rejects if it ends first. */
  #printed(mark: string, times = 1): Promise<void> {
    if (count(this.#out, mark) >= times) return Promise.resolve();
    return Promise.race([
      new Promise<void>((resolve) => this.#waiters.push({ mark, times, resolve })),
      this.#closed.then(({ code, signal }) => {
        throw new Error(`the crash child ended (${code ?? signal}) before printing ${mark.trim()}: ${this.#stderr}`);
      }),
    ]);
  }

  async start(job: unknown): Promise<void> {
    await this.#printed('W\n');
    this.#proc.stdin!.end(`${JSON.stringify(job)}\n`);
    await this.#printed('R\n');
  }

  /** Resolves once the child has completed `flushes` flushes (it prints "C" after each). */
  flushed(flushes: number): Promise<void> {
    return this.#printed('C\n', flushes);
  }

  /** SIGKILL, then the whole exit (stdio closed): how it ended and what it wrote to stderr. */
  async kill(): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
    this.#proc.kill('SIGKILL');
    const { code, signal } = await this.#closed;
    return { code, signal, stderr: this.#stderr };
  }
}

export interface KillRound {
  /** Which of the parallel lanes (each has its own file) this round ran in. */
  readonly lane: number;
  readonly round: number;
  readonly delayMs: number;
  readonly flushes: number;
  /** Complete lines of the child's log ("F <json>", "C", …). */
  readonly lines: readonly string[];
}

/** What a child's log says about its flushes. */
export interface FlushLog<S> {
  /** The state of the last flush that returned ("F <state>" then "C"), else `before`. */
  readonly last: S;
  /** The state of the flush the child was in when it was killed ("F" with no "C" yet). */
  readonly inFlight: S | undefined;
  /** Flushes that returned. */
  readonly completed: number;
}

/** Reads a round's log lines: `before` is the state the round started from. */
export function readFlushLog<S>(lines: readonly string[], before: S, parse: (json: string) => S): FlushLog<S> {
  let last = before;
  let inFlight: S | undefined;
  let completed = 0;
  for (const line of lines) {
    if (line.startsWith('F ')) inFlight = parse(line.slice(2));
    else if (line === 'C' && inFlight !== undefined) {
      last = inFlight;
      inFlight = undefined;
      completed++;
    }
  }
  return { last, inFlight, completed };
}

export interface KillLoopOptions {
  readonly script: string;
  /** Kills in all, shared out over the lanes. */
  readonly kills: number;
  /** Seeds the kill schedule and the jobs' own seeds. */
  readonly seed: number;
  /**
   * The schedule: each child is killed a random 0…maxDelayMs after it has completed a random
   * 0…maxFlushes flushes — counted in work, not time, so a loaded machine cannot starve it of
   * flushes.
   */
  readonly maxDelayMs: number;
  readonly maxFlushes: number;
  /** Rounds run in parallel lanes, each on its own file (default 3): a round mostly waits for the scheduler. */
  readonly lanes?: number;
  /** The job of a round: what the child works on (it must write its markers to `log`). */
  readonly job: (lane: number, jobSeed: number, log: string) => unknown;
  /** The log file of a lane. */
  readonly log: (lane: number) => string;
  /** Checks a lane's file after a kill; throw to fail. */
  readonly check: (round: KillRound) => void | Promise<void>;
  /** Children each lane starts ahead (default 1). */
  readonly warm?: number;
}

/**
 * Kills `kills` children at seeded random moments of their work (see maxDelayMs), checking the
 * file after each; children start ahead of their rounds so a round costs little more than its
 * work. Every failure names the seed, lane and round.
 */
export async function killLoop(options: KillLoopOptions): Promise<void> {
  const lanes = options.lanes ?? 3;
  const warm = options.warm ?? 1;
  const pools: WarmChild[][] = [];
  const refill = (lane: number) => {
    const pool = (pools[lane] ??= []);
    while (pool.length < warm) pool.push(new WarmChild(options.script));
  };
  let stopped = false;
  const runLane = async (lane: number) => {
    // one generator per lane, so a lane's schedule does not depend on how the lanes interleave
    const random = randomFrom(options.seed + lane * 0x51ed27);
    const log = options.log(lane);
    for (let round = lane; round < options.kills && !stopped; round += lanes) {
      const child = pools[lane]!.shift()!;
      refill(lane);
      const flushes = Math.floor(random() * (options.maxFlushes + 1));
      const delayMs = Math.floor(random() * options.maxDelayMs);
      const jobSeed = Math.floor(random() * 2 ** 31);
      const where = `seed ${options.seed}, lane ${lane}, round ${round} (kill ${delayMs} ms after flush ${flushes})`;
      let failed: unknown;
      try {
        await child.start(options.job(lane, jobSeed, log));
        await child.flushed(flushes);
        // then a random moment of the child's work
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      } catch (error) {
        failed = error;
      }
      const { signal, code, stderr } = await child.kill();
      if (stderr !== '' || signal !== 'SIGKILL') {
        throw new Error(`${where}: the child ended with ${code ?? signal}, stderr: ${stderr}`, { cause: failed });
      }
      if (failed !== undefined) throw failed instanceof Error ? failed : new Error(`${where}: the round failed`, { cause: failed });
      // a line cut short by the kill never finished, so its flush never began
      const lines = readFileSync(log, 'utf8').split('\n').slice(0, -1);
      try {
        await options.check({ lane, round, delayMs, flushes, lines });
      } catch (error) {
        throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  };
  for (let lane = 0; lane < lanes; lane++) refill(lane);
  try {
    const results = await Promise.allSettled(
      Array.from({ length: lanes }, (_, lane) =>
        runLane(lane).catch((error: unknown) => {
          stopped = true;
          throw error;
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await Promise.all(pools.flatMap((pool) => pool.splice(0)).map((child) => child.kill()));
  }
}
