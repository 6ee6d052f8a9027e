import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Agent, request } from 'undici';
import { ADMIN, basic } from './relay.js';
import { sleep } from './e2e.js';

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

/**
 * This process's environment without the relay's own variables, plus the test's defaults (the test
 * admin, private networks allowed, warnings only, on 127.0.0.1) and `env` on top.
 */
export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RELAY_') && !['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)) out[k] = v;
  }
  return { ...out, HOST: '127.0.0.1', RELAY_ADMIN_USER: ADMIN.user, RELAY_ADMIN_KEY: ADMIN.key, RELAY_ALLOW_PRIVATE_NETWORKS: '1', LOG_LEVEL: 'warn', ...env };
}

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test builds before running vitest)`);
}

/** Runs one command of the built CLI to its end (`serve` too, when it refuses to start), with cliEnv(env). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  return { code, stdout, stderr };
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
    requireBuild();
    // Port 0: the process listens where the kernel says and logs its address. A port found free
    // beforehand can be taken by another test's server before the child binds it.
    const full = cliEnv({ PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, ...env });
    const args = [CLI, 'serve', ...(roles ? ['--roles', roles] : [])];
    const child = spawn(process.execPath, args, { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let out = '';
    let url: string | undefined;
    let line = '';
    child.stdout!.on('data', (c: Buffer) => {
      const text = c.toString();
      out = (out + text).slice(-20_000);
      if (url !== undefined) return;
      const lines = (line + text).split('\n');
      line = lines.pop()!;
      for (const l of lines) url ??= startedAt(l);
    });
    child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it was ready:\n${out}`);
      if (url !== undefined) {
        try {
          const res = await request(`${url}/readyz`, { dispatcher: this.agent });
          await res.body.text();
          if (res.statusCode === 200) break;
        } catch {
          // not answering yet
        }
      }
      if (Date.now() > deadline) throw new Error(`the server was not ready within 30 s:\n${out}`);
      await sleep(50);
    }
    return { child, url, output: () => out };
  }

  /** Calls the API of `server` as the test admin (or `auth`), with a JSON body if one is given. */
  async call(server: RelayProcess, method: 'GET' | 'POST', path: string, body?: unknown, auth = AUTH): Promise<{ status: number; body: any }> {
    const res = await request(`${server.url}${path}`, {
      dispatcher: this.agent,
      method,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  /** POSTs JSON as the test admin. */
  post(server: RelayProcess, path: string, body: unknown): Promise<{ status: number; body: any }> {
    return this.call(server, 'POST', path, body);
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

/** The address in the relay's start-up log line ('callback-relay started', pino JSON), if `line` is it. */
function startedAt(line: string): string | undefined {
  if (!line.includes('callback-relay started')) return undefined;
  try {
    const url = (JSON.parse(line) as { url?: unknown }).url;
    return typeof url === 'string' ? url.replace('://0.0.0.0:', '://127.0.0.1:') : undefined;
  } catch {
    return undefined;
  }
}
