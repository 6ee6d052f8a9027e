import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What the built CLI says when it cannot start: the setting to fix is named, and a mistyped command
 * is an error (exit code 2), not a server. Every run here ends by itself (no server is left up).
 */
const CLI = resolve('dist/src/cli.js');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sqliteUrl(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-startup-'));
  dirs.push(dir);
  return `sqlite:${join(dir, 'relay.db')}`;
}

/** Runs the CLI with `args` and a clean environment plus `env`; resolves when it exits. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RELAY_') && !['PORT', 'HOST', 'DATABASE_URL', 'LOG_LEVEL'].includes(k)) base[k] = v;
  }
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stderr, stdout })));
}

/** A 127.0.0.1 port nothing listens on (listened on, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('CLI start-up errors', () => {
  it('a mistyped command is an error with a hint (exit code 2), not a server', async () => {
    const r = await run(['srve'], { DATABASE_URL: sqliteUrl() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'srve'");
    expect(r.stderr).toContain('Did you mean serve?');
    const m = await run(['migrat'], { DATABASE_URL: sqliteUrl() });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('Did you mean migrate?');
  });

  it('a database that does not answer is named as DATABASE_URL (without its password)', async () => {
    const port = await closedPort();
    const r = await run(['serve'], { DATABASE_URL: `postgres://postgres:pw-not-shown@127.0.0.1:${port}/test` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr + r.stdout).not.toContain('pw-not-shown');
  });

  it('a port already in use is named as PORT', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const { port } = taken.address() as AddressInfo;
      const r = await run(['serve'], { DATABASE_URL: sqliteUrl(), PORT: String(port) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr).toMatch(/set PORT/);
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });
});
