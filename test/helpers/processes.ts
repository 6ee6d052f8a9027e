import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Agent, request } from 'undici';
import { ADMIN, basic } from './relay.js';
import { freePort, sleep } from './e2e.js';

/**
 * The built server (dist/src/cli.js) as child processes, for the suites that kill, cut off or run
 * several of them on one database (crash, failover, PostgreSQL faults).
 */
export const CLI = resolve('dist/src/cli.js');
const AUTH = basic(ADMIN.user, ADMIN.key);

export interface RelayProcess {
  child: ChildProcess;
  /** The API's address (without the api role: the ops server's). */
  url: string;
  /** The last 20,000 characters of its stdout and stderr. */
  output: () => string;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Starts processes of the built server, each on a free port, and kills what is left of them at the end. */
export class RelayProcesses {
  readonly children: ChildProcess[] = [];
  readonly agent: Agent;

  constructor(connections = 16) {
    this.agent = new Agent({ connections, keepAliveTimeout: 10_000, pipelining: 1 });
  }

  /**
   * `serve [--roles roles]` on `databaseUrl` with the test admin, private networks allowed and `env`
   * on top (the parent's RELAY_* variables are not passed on); resolves once /readyz answers 200.
   */
  async start(databaseUrl: string, env: Record<string, string> = {}, roles?: string): Promise<RelayProcess> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test builds before running vitest)`);
    const port = await freePort();
    const full: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('RELAY_') && !['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)) full[k] = v;
    }
    Object.assign(full, {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      RELAY_ADMIN_USER: ADMIN.user,
      RELAY_ADMIN_KEY: ADMIN.key,
      RELAY_ALLOW_PRIVATE_NETWORKS: '1',
      LOG_LEVEL: 'warn',
      ...env,
    });
    const args = [CLI, 'serve', ...(roles ? ['--roles', roles] : [])];
    const child = spawn(process.execPath, args, { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
    child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it was ready:\n${out}`);
      try {
        const res = await request(`${url}/readyz`, { dispatcher: this.agent });
        await res.body.text();
        if (res.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the server was not ready within 30 s:\n${out}`);
      await sleep(50);
    }
    return { child, url, output: () => out };
  }

  /** POSTs JSON as the test admin. */
  async post(server: RelayProcess, path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await request(`${server.url}${path}`, {
      dispatcher: this.agent,
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  /**
   * Posts events `next()` hands out, `concurrency` at a time, until it runs out or `stop()` says so;
   * the ids of those answered 202 go into `acked`. Returns how many were not acknowledged.
   */
  async stream(server: RelayProcess, next: () => number | undefined, acked: Set<string>, stop: () => boolean, concurrency = 16): Promise<number> {
    let failures = 0;
    const worker = async () => {
      for (;;) {
        if (stop()) return;
        const i = next();
        if (i === undefined) return;
        try {
          const res = await this.post(server, '/v1/events', { type: 'sms.delivered', data: { i, to: '+33600000000' } });
          if (res.status === 202) acked.add(res.body.id as string);
          else failures++;
        } catch {
          // The server died under this request: it was never acknowledged.
          failures++;
          if (stop()) return;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return failures;
  }

  /** SIGKILLs every process still running and waits for them to exit. */
  async killAll(): Promise<void> {
    for (const c of this.children) if (isRunning(c)) c.kill('SIGKILL');
    await Promise.all(this.children.map(exited));
  }

  /** killAll, then closes the HTTP agent. */
  async close(): Promise<void> {
    await this.killAll();
    await this.agent.close().catch(() => {});
  }
}
