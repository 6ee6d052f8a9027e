import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basic } from '../helpers/relay.js';
import { waitUntil } from '../helpers/e2e.js';
import { RelayProcesses, exited, runCli } from '../helpers/processes.js';

/**
 * The built command line on SQLite files: one `serve` per database (a second is refused, a kill -9
 * leaves nothing that blocks the restart), `migrate` refused and `create-api-user` working beside a
 * running one, and `backup` while it serves and ingests.
 */
// Each test spawns the built relay three to five times; on a busy machine a start takes seconds.
describe('one process per SQLite database, and its backups (command line)', { timeout: 120_000 }, () => {
  const processes = new RelayProcesses();
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-ops-'));
    file = join(dir, 'relay.db');
    env = { DATABASE_URL: `sqlite:${file}` };
  });
  afterEach(async () => {
    await processes.killAll();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => processes.close());
  const call = processes.call.bind(processes);
  const serve = () => processes.start(env.DATABASE_URL!);

  it('refuses a second serve on the same file, naming it; migrate is refused and create-api-user works beside it; after kill -9 a new serve starts', async () => {
    const first = await serve();

    // Three commands against the running one, at once: another serve, migrate, create-api-user.
    const [second, migrate, created] = await Promise.all([
      serve().then(
        () => undefined,
        (err: Error) => err.message,
      ),
      runCli(['migrate'], env),
      runCli(['create-api-user', '--name', 'beside-serve'], env),
    ]);
    expect(second, 'the second serve started').toBeDefined();
    expect(second).toMatch(/exited with code 1 before it was ready/);
    expect(second).toContain(`another process (pid ${first.child.pid} `);
    expect(second).toContain(`is using the SQLite database ${file} `);
    expect((await call(first, 'GET', '/readyz')).status).toBe(200);

    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`is using the SQLite database ${file} `);

    expect(created.code, created.stderr).toBe(0);
    const key = /api_key: (\S+)/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect((await call(first, 'GET', '/v1/callbacks', undefined, basic('beside-serve', key!))).status).toBe(200);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const third = await serve();
    expect((await call(third, 'GET', '/readyz')).status).toBe(200);
    expect((await call(third, 'POST', '/v1/events', { type: 'sms.sent', data: {} })).status).toBe(202);
  });

  it('backup copies the database while serve ingests: the copy is intact and holds every event acknowledged before it began', async () => {
    const server = await serve();
    const acked: string[] = [];
    let stop = false;
    const post = async () => {
      for (let i = 0; !stop; i++) {
        const res = await call(server, 'POST', '/v1/events', { type: 'sms.delivered', data: { i, text: 'x'.repeat(500) } });
        expect(res.status).toBe(202);
        acked.push(res.body.id as string);
      }
    };
    const posting = Promise.all(Array.from({ length: 8 }, post));
    try {
      await waitUntil(() => acked.length >= 300, { timeoutMs: 20_000, what: '300 acknowledged events' });
      const before = [...acked];
      const target = join(dir, 'backup.db');
      const backup = await runCli(['backup', target], env);
      const during = acked.length - before.length;
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stdout).toMatch(new RegExp(`backed up sqlite:${file} to ${target}: \\d+ pages, \\d+\\.\\d MiB`));
      expect(existsSync(`${target}.partial`)).toBe(false);
      expect(during, 'events acknowledged while the backup ran').toBeGreaterThan(0);

      const copy = new SqliteDatabase(target, { readonly: true, fileMustExist: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const inCopy = new Set((copy.prepare('select id from events').all() as { id: string }[]).map((r) => r.id));
        expect(before.filter((id) => !inCopy.has(id))).toEqual([]);
      } finally {
        copy.close();
      }

      const again = await runCli(['backup', target], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${target} exists already`);
    } finally {
      stop = true;
      await posting;
    }
  });

  it('backup on PostgreSQL refuses, with the pg_dump command for the schema', async () => {
    const res = await runCli(['backup', join(dir, 'pg.dump')], { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:5432/test?schema=tenant_a' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('pg_dump --format=custom --schema=tenant_a');
    expect(res.stderr).not.toContain('secret');
  });
});
