import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { ADMIN } from './relay.js';
import { freePort, sleep } from './e2e.js';

/** The built command line: the suites that spawn it need `npm run build` first (npm test does it). */
export const CLI = resolve('dist/src/cli.js');

export interface CliServer {
  child: ChildProcess;
  url: string;
  /** The last 20 kB of its stdout and stderr. */
  output: () => string;
}

/**
 * This process's environment without the relay's own variables, plus the test's: the admin, private
 * networks allowed, warnings only, and `env` (DATABASE_URL at least).
 */
export function cliEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RELAY_') && !['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)) out[k] = v;
  }
  return { RELAY_ADMIN_USER: ADMIN.user, RELAY_ADMIN_KEY: ADMIN.key, RELAY_ALLOW_PRIVATE_NETWORKS: '1', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...out, ...env };
}

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test builds before running vitest)`);
}

/**
 * Spawns `serve` on a free port with `env` (see cliEnv) and resolves once /readyz answers 200; rejects
 * with its output if it exits first or is not ready within 15 s. The child is pushed on `children`
 * so the suite can kill what is left.
 */
export async function startCliServer(env: Record<string, string>, children: ChildProcess[], dispatcher?: Dispatcher): Promise<CliServer> {
  requireBuild();
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], { env: cliEnv({ PORT: String(port), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it was ready:\n${out}`);
    try {
      const res = await request(`${url}/readyz`, dispatcher ? { dispatcher } : {});
      await res.body.text();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server was not ready within 15 s:\n${out}`);
    await sleep(50);
  }
  return { child, url, output: () => out };
}

/** Runs one command of the CLI to its end (`serve` too, when it refuses to start). */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Kills (SIGKILL) the children still running and waits for them to end. */
export async function killAll(children: ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.kill('SIGKILL');
  await Promise.all(alive.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
}
