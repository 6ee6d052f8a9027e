import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes.js';
import { ADMIN } from '../helpers/relay.js';
import { loadConfig } from '../../src/config.js';
import { startRelay } from '../../src/runtime.js';
import pino from 'pino';

/**
 * What the built CLI says when it cannot start: the setting to fix is named, and a mistyped command
 * is an error (exit code 2), not a server. Every run here ends by itself (no server is left up).
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function sqliteUrl(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-startup-'));
  dirs.push(dir);
  return `sqlite:${join(dir, 'relay.db')}`;
}

/** Runs the built CLI with `args` (on port 0 unless `env` says otherwise); resolves when it exits. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return runCli(args, { PORT: '0', ...env });
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

describe('start-up errors in process', () => {
  it('a start that fails at its port stops what it started: the database is let go, and a start on a free port works', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const databaseUrl = sqliteUrl();
    const config = (port: number) =>
      loadConfig({ DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', RELAY_ADMIN_USER: ADMIN.user, RELAY_ADMIN_KEY: ADMIN.key, LOG_LEVEL: 'silent' });
    const log = pino({ level: 'silent' });
    try {
      const { port } = taken.address() as AddressInfo;
      // exclusive: the SQLite file is held while the store is open, so a second start proves the first let it go.
      await expect(startRelay(config(port), { exclusive: true, log })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
    const relay = await startRelay(config(await closedPort()), { exclusive: true, log });
    try {
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    } finally {
      await relay.close();
    }
  });
});
