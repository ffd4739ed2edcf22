/**
 * Our client against our server over a Unix socket, each row interleaved with its anchor: a plain
 * echo server on the same kind of socket, driven with messages of the same sizes and the same
 * number of requests in flight (the transport limit). Run with `pnpm bench`.
 */
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { interleave, makeTempDir, median, rate, reportBench, type BenchRow } from '@blk/test-kit';
import { connect, encodeFrame, requests, type Client } from '../src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 300);
const KEY = '/bench/key';
/** 11 bytes: the READ reply is then exactly as long as the READ request (27 bytes with header). */
const VALUE = 'value-11-by';

const dir = makeTempDir('blk-xs-bench-');
const xsPath = `${dir.path}/xs.sock`;
const echoPath = `${dir.path}/echo.sock`;
const child = spawn(process.execPath, [...process.execArgv, new URL('./servers.ts', import.meta.url).pathname, xsPath, echoPath], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  child.stdout.on('data', (d: Buffer) => {
    if (d.toString().includes('ready')) resolve();
  });
  child.once('exit', (code) => {
    reject(new Error(`server process exited with ${code}`));
  });
});

/** A raw echo connection that can keep `depth` messages of `size` bytes in flight. */
class Echo {
  readonly #socket: Socket;
  #received = 0;
  #onBytes: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received += chunk.length;
      this.#onBytes?.();
    });
  }

  static open(path: string): Promise<Echo> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ path }, () => {
        resolve(new Echo(s));
      });
      s.once('error', reject);
    });
  }

  /** Sends `count` messages, at most `depth` unanswered at a time; resolves when all came back. */
  run(message: Uint8Array, count: number, depth: number): Promise<void> {
    const size = message.length;
    const start = this.#received;
    let sent = 0;
    return new Promise((resolve) => {
      const pump = () => {
        const back = Math.floor((this.#received - start) / size);
        if (back >= count) {
          this.#onBytes = undefined;
          resolve();
          return;
        }
        this.#socket.cork();
        while (sent < count && sent - back < depth) {
          this.#socket.write(message);
          sent++;
        }
        this.#socket.uncork();
      };
      this.#onBytes = pump;
      pump();
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

const readMessage = encodeFrame({ type: requests.read(KEY).type, reqId: 1, txId: 0, payload: requests.read(KEY).payload });
const writeRequest = requests.write(KEY, VALUE);
const writeMessage = encodeFrame({ type: writeRequest.type, reqId: 1, txId: 0, payload: writeRequest.payload });

const clients: Client[] = [];
for (let i = 0; i < 8; i++) clients.push(await connect({ path: xsPath }));
const echoes: Echo[] = [];
for (let i = 0; i < 8; i++) echoes.push(await Echo.open(echoPath));
const first = clients[0]!;
await first.immediate((x) => x.write(KEY, VALUE));
for (let i = 0; i < 8; i++) await first.immediate((x) => x.write(`/bench/own/${i}`, '0'));
await first.immediate((x) => x.write('/bench/shared', '0'));

/** `depth` workers each doing `perWorker` sequential operations. */
async function workers(depth: number, perWorker: number, op: (worker: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: depth }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) await op(w);
    }),
  );
}

const BATCH = 256;

interface Case {
  readonly name: string;
  readonly anchor: string;
  readonly target?: number;
  readonly subject: () => Promise<number>;
  readonly anchorRate: () => Promise<number>;
}

const cases: Case[] = [
  {
    name: 'read, 1 connection, 1 in flight',
    anchor: 'echo round trips, same sizes',
    target: 0.5,
    subject: () => rate(() => first.immediate((x) => workers(1, 64, () => x.read(KEY))), 64, SAMPLE_MS),
    anchorRate: () => rate(() => echoes[0]!.run(readMessage, 64, 1), 64, SAMPLE_MS),
  },
  {
    name: 'read, 1 connection pipelined (32 in flight)',
    anchor: 'echo, 32 in flight',
    target: 0.5,
    subject: () => rate(() => first.immediate((x) => workers(32, BATCH / 32, () => x.read(KEY))), BATCH, SAMPLE_MS),
    anchorRate: () => rate(() => echoes[0]!.run(readMessage, BATCH, 32), BATCH, SAMPLE_MS),
  },
  {
    name: 'write, 1 connection pipelined (32 in flight)',
    anchor: 'echo, 32 in flight',
    target: 0.5,
    subject: () => rate(() => first.immediate((x) => workers(32, BATCH / 32, () => x.write(KEY, VALUE))), BATCH, SAMPLE_MS),
    anchorRate: () => rate(() => echoes[0]!.run(writeMessage, BATCH, 32), BATCH, SAMPLE_MS),
  },
  {
    name: 'read, 8 connections, 1 in flight each',
    anchor: 'echo, 8 connections',
    target: 0.5,
    subject: () => rate(() => Promise.all(clients.map((c) => c.immediate((x) => workers(1, 32, () => x.read(KEY))))), 8 * 32, SAMPLE_MS),
    anchorRate: () => rate(() => Promise.all(echoes.map((e) => e.run(readMessage, 32, 1))), 8 * 32, SAMPLE_MS),
  },
  {
    name: 'write, 8 connections, 1 in flight each',
    anchor: 'echo, 8 connections',
    target: 0.5,
    subject: () =>
      rate(() => Promise.all(clients.map((c) => c.immediate((x) => workers(1, 32, () => x.write(KEY, VALUE))))), 8 * 32, SAMPLE_MS),
    anchorRate: () => rate(() => Promise.all(echoes.map((e) => e.run(writeMessage, 32, 1))), 8 * 32, SAMPLE_MS),
  },
  {
    name: 'txn commits (read+write), 8 conns, own keys',
    anchor: 'echo, 4 round trips × 8 conns',
    subject: () =>
      rate(
        () =>
          Promise.all(
            clients.map(async (c, i) => {
              for (let n = 0; n < 8; n++) {
                await c.transaction(async (x) => {
                  const v = Number(await x.read(`/bench/own/${i}`));
                  await x.write(`/bench/own/${i}`, String(v + 1));
                });
              }
            }),
          ),
        8 * 8,
        SAMPLE_MS,
      ),
    anchorRate: () => rate(() => Promise.all(echoes.map((e) => e.run(readMessage, 8 * 4, 1))), 8 * 8, SAMPLE_MS),
  },
  {
    name: 'txn commits (read+write), 8 conns, one shared key',
    anchor: 'echo, 4 round trips × 8 conns',
    subject: () =>
      rate(
        () =>
          Promise.all(
            clients.map(async (c) => {
              for (let n = 0; n < 8; n++) {
                await c.transaction(
                  async (x) => {
                    const v = Number(await x.read('/bench/shared'));
                    await x.write('/bench/shared', String(v + 1));
                  },
                  { maxAttempts: 1000 },
                );
              }
            }),
          ),
        8 * 8,
        SAMPLE_MS,
      ),
    anchorRate: () => rate(() => Promise.all(echoes.map((e) => e.run(readMessage, 8 * 4, 1))), 8 * 8, SAMPLE_MS),
  },
];

/** `BENCH_CASES=pipelined,txn` runs only the rows whose name contains one of the words. */
const only = process.env.BENCH_CASES?.split(',').filter((w) => w.length > 0);
const selected = only ? cases.filter((c) => only.some((w) => c.name.includes(w))) : cases;

const rows: BenchRow[] = [];
try {
  for (const c of selected) {
    // warm up both sides once
    await c.subject();
    await c.anchorRate();
    const samples = await interleave(ROUNDS, c.subject, c.anchorRate);
    rows.push({
      name: c.name,
      unit: 'ops/s',
      value: median(samples.subject),
      anchor: c.anchor,
      anchorValue: median(samples.anchor),
      higherIsBetter: true,
      ...(c.target === undefined ? {} : { target: c.target }),
    });
  }
  const expected = await first.immediate((x) => x.read('/bench/shared'));
  if (!/^\d+$/.test(expected)) throw new Error(`shared counter is not a number: ${expected}`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  for (const e of echoes) e.close();
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  dir.remove();
}
reportBench('@blk/xenstore', rows);
