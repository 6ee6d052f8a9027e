/**
 * Child processes of the bench — receivers and relays — and the guarantee that none outlives it.
 * Every child is registered in `children`; `killAllSync` runs on every way out (normal exit, error,
 * SIGINT/SIGTERM), and receivers also exit by themselves when the IPC channel to the bench closes.
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { ParentMessage, ReceiverMessage, ReceiverMode, ReceiverStats } from './protocol.js';

type ParentCommand = ParentMessage extends infer M ? (M extends ParentMessage ? Omit<M, 'seq'> : never) : never;

const children = new Set<ChildProcess>();

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

export function killAllSync(): void {
  for (const c of children) {
    if (alive(c)) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}

export interface Stopped {
  /** Milliseconds from SIGTERM to exit. */
  ms: number;
  /** It did not exit within the grace period and was killed. */
  killed: boolean;
  code: number | null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(c: ChildProcess, graceMs: number): Promise<Stopped> {
  const t = performance.now();
  let killed = false;
  if (alive(c)) {
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (alive(c)) {
        killed = true;
        c.kill('SIGKILL');
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }
  children.delete(c);
  return { ms: performance.now() - t, killed, code: c.exitCode };
}

export async function stopAll(graceMs: number): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)));
}

/**
 * Forks one of the bench's scripts (beside this file) with an IPC channel and waits for its
 * `{type: 'ready'}` message; a child that exits or stays silent past the timeout is stopped.
 */
async function forkUntilReady<M extends { type: 'ready' }>(
  script: string,
  args: string[],
  label: string,
  timeoutMs: number,
): Promise<{ child: ChildProcess; ready: M }> {
  const child = fork(fileURLToPath(new URL(`./${script}`, import.meta.url)), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  children.add(child);
  try {
    const ready = await new Promise<M>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} did not start within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited during start-up (code ${code}, signal ${sig})`));
      });
      child.on('message', (raw: unknown) => {
        if ((raw as { type?: unknown }).type === 'ready') {
          clearTimeout(timer);
          resolve(raw as M);
        }
      });
    });
    return { child, ready };
  } catch (err) {
    await stopChild(child, 1_000);
    throw err;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A receiver child process (see receiver.ts) and a tiny request/reply channel to it. */
export class Receiver {
  private seq = 0;
  private readonly waiting = new Map<number, (m: Extract<ReceiverMessage, { type: 'reply' }>) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly mode: ReceiverMode,
    readonly ports: number[],
  ) {
    child.on('message', (raw: unknown) => {
      const msg = raw as ReceiverMessage;
      if (msg.type !== 'reply') return;
      const done = this.waiting.get(msg.seq);
      this.waiting.delete(msg.seq);
      done?.(msg);
    });
  }

  static async start(mode: ReceiverMode, ports = 1): Promise<Receiver> {
    const { child, ready } = await forkUntilReady<Extract<ReceiverMessage, { type: 'ready' }>>('receiver.js', ['--mode', mode, '--ports', String(ports)], 'receiver', 10_000);
    return new Receiver(child, mode, ready.ports);
  }

  url(index = 0, path = '/hook'): string {
    const port = this.ports[index % this.ports.length];
    return `http://127.0.0.1:${port}${path}`;
  }

  private call(msg: ParentCommand): Promise<Extract<ReceiverMessage, { type: 'reply' }>> {
    if (!alive(this.child) || !this.child.connected) return Promise.reject(new Error(`${this.mode} receiver is gone`));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new Error(`${this.mode} receiver did not answer within 10 s`));
      }, 10_000);
      this.waiting.set(seq, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.child.send({ ...msg, seq } as ParentMessage);
    });
  }

  async stats(): Promise<ReceiverStats> {
    return (await this.call({ cmd: 'stats' })).stats;
  }

  async reset(opts: { distinct?: boolean; latency?: boolean } = {}): Promise<void> {
    await this.call({ cmd: 'reset', distinct: opts.distinct ?? true, latency: opts.latency ?? false });
  }

  async samples(): Promise<number[]> {
    return (await this.call({ cmd: 'samples' })).samples ?? [];
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 2_000);
  }
}

export interface RelayOptions {
  /** Path of the relay CLI (dist/src/cli.js). */
  cli: string;
  databaseUrl: string;
  roles: string;
  user: string;
  key: string;
  /** File that receives the relay's stdout and stderr. */
  logFile: string;
  readyTimeoutMs: number;
}

/** A relay process (`node dist/src/cli.js serve`) on a free port of 127.0.0.1. */
export class Relay {
  readonly pool: Pool;
  readonly authorization: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
    readonly opts: RelayOptions,
  ) {
    this.pool = new Pool(origin, {
      connections: 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    this.authorization = `Basic ${Buffer.from(`${opts.user}:${opts.key}`).toString('base64')}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return alive(this.child);
  }

  /** CPU time (user + system) the relay has used so far, in ms; null where /proc is not there. */
  cpuMs(): number | null {
    return cpuMsOf(this.pid);
  }

  static async start(opts: RelayOptions): Promise<Relay> {
    const port = await freePort();
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      log.once('open', () => resolve());
      log.once('error', reject);
    });
    // BENCH_RELAY_NODE_ARGS: extra node flags for the relay, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, opts.cli, 'serve', '--roles', opts.roles], {
      env: {
        ...cleanEnv(),
        RELAY_ROLES: opts.roles,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: opts.databaseUrl,
        RELAY_ADMIN_USER: opts.user,
        RELAY_ADMIN_KEY: opts.key,
        RELAY_ALLOW_PRIVATE_NETWORKS: '1',
        LOG_LEVEL: process.env.BENCH_RELAY_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('exit', () => setTimeout(() => log.end(), 100));
    const relay = new Relay(child, `http://127.0.0.1:${port}`, opts);
    try {
      await relay.waitReady(opts.readyTimeoutMs);
    } catch (err) {
      await relay.stop();
      throw err;
    }
    return relay;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `relay (roles ${this.opts.roles}) exited during start-up with code ${this.child.exitCode}` +
            ` / signal ${this.child.signalCode}; log:\n${await tail(this.opts.logFile)}`,
        );
      }
      try {
        const res = await this.pool.request({ path: '/readyz', method: 'GET', headersTimeout: 2_000, bodyTimeout: 2_000 });
        await res.body.dump();
        if (res.statusCode === 200) return;
        last = `HTTP ${res.statusCode}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `relay (roles ${this.opts.roles}) not ready within ${timeoutMs} ms (last /readyz: ${last}); log:\n` +
        (await tail(this.opts.logFile)),
    );
  }

  /** VmHWM (peak) and VmRSS of the relay process in MiB, from /proc; null when unavailable. */
  async memory(): Promise<{ hwmMb: number; rssMb: number } | null> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string): number => Number(/\s(\d+)\s*kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? NaN);
      const hwm = kb('VmHWM:');
      const rss = kb('VmRSS:');
      if (!Number.isFinite(hwm) || !Number.isFinite(rss)) return null;
      return { hwmMb: hwm / 1024, rssMb: rss / 1024 };
    } catch {
      return null;
    }
  }

  async stop(graceMs = 20_000): Promise<Stopped> {
    const stopped = await stopChild(this.child, graceMs);
    await this.pool.destroy().catch(() => undefined);
    return stopped;
  }

  async logTail(): Promise<string> {
    return tail(this.opts.logFile);
  }
}

/** CPU time (user + system) a process has used so far, in ms; null where /proc is not there. */
function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15, in clock ticks (100 Hz on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

export type BareOptions = { mode: 'ingest'; db: string } | { mode: 'drain'; db: string; target: string; count: number };

/** A reference loop (see bare.ts) in its own process: a bare ingest handler or a bare queue loop. */
export class Bare {
  private constructor(
    private readonly child: ChildProcess,
    /** The ingest handler's port (ingest mode). */
    readonly port: number | undefined,
  ) {}

  static async start(opts: BareOptions, readyTimeoutMs: number): Promise<Bare> {
    const args = ['--mode', opts.mode, '--db', opts.db];
    if (opts.mode === 'drain') args.push('--target', opts.target, '--count', String(opts.count));
    const { child, ready } = await forkUntilReady<{ type: 'ready'; port?: number }>('bare.js', args, `bare ${opts.mode}`, readyTimeoutMs);
    return new Bare(child, ready.port);
  }

  get running(): boolean {
    return alive(this.child);
  }

  /** Drain mode: start sending. */
  go(): void {
    this.child.send({ cmd: 'go' });
  }

  cpuMs(): number | null {
    return cpuMsOf(this.child.pid ?? -1);
  }

  async logTail(): Promise<string> {
    return '(its errors go to the bench\'s stderr)';
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 2_000);
  }
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The bench's environment minus the relay's own settings: the relay refuses unknown RELAY_* keys. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RELAY_') || ['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)) continue;
    env[k] = v;
  }
  return env;
}
