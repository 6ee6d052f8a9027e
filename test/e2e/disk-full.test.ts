import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { pino } from 'pino';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, webhookId } from '../helpers/e2e.js';

/**
 * A full disk, made without root tricks: SQLite's `max_page_count` caps the database at the size the
 * test chooses, and a write past it fails as on a full disk (SQLITE_FULL). PostgreSQL has no such
 * knob; its disk_full (53100) goes through the same classification (test/unit/storage-failure.test.ts).
 */
const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;

describe('a full disk on sqlite', () => {
  let t: TestRelay;
  let receiver: TestReceiver;
  let drop: () => Promise<void>;
  const lines: string[] = [];

  beforeAll(async () => {
    const db = await sqlite.create();
    drop = db.drop;
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    t = await startTestRelay(db.url, {}, { log });
    receiver = await new TestReceiver().start();
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
    await drop?.();
  });

  const setMaxPages = async (n: number) => {
    await sql.raw(`pragma max_page_count = ${n}`).execute(t.relay.store.db);
  };

  it('answers 503 saying the disk is full, /readyz and the log say so, and nothing acknowledged is lost once space is back', async () => {
    await createCallback(t, { title: 'full', url: `${receiver.url}/hook` });
    const pages = await sql<{ page_count: number }>`pragma page_count`.execute(t.relay.store.db);
    await setMaxPages(pages.rows[0]!.page_count + 30);

    // Events of 2 KB each until one is refused.
    const acked: string[] = [];
    let refused: { status: number; body: { code: string; message: string } } | undefined;
    for (let i = 0; i < 2000 && !refused; i++) {
      const res = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: { i, text: 'x'.repeat(2000) } });
      if (res.status === 202) acked.push(res.body.id as string);
      else refused = res;
    }
    expect(refused, 'the capped database filled up').toBeDefined();
    expect(acked.length).toBeGreaterThan(0);
    expect(refused!.status).toBe(503);
    expect(refused!.body.code).toBe('storage_unavailable');
    expect(refused!.body.message).toMatch(/the database disk is full/);

    const ready = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ code: 'storage_unavailable', message: expect.stringMatching(/the database disk is full/) });

    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message?: string } });
    const failure = logged.find((l) => l.level >= 50 && /the database disk is full/.test(l.msg));
    expect(failure, `an error line saying the disk is full among:\n${lines.slice(-5).join('')}`).toBeDefined();
    expect(lines.join('')).not.toMatch(/cannot rollback/);

    // Space is back: the next event goes in, readiness recovers, every acknowledged event is stored
    // and delivered.
    await setMaxPages(1_000_000);
    const after = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: { after: true } });
    expect(after.status).toBe(202);
    acked.push(after.body.id as string);
    const readyAgain = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
    expect(readyAgain.statusCode).toBe(200);
    const stored = await t.relay.store.db.selectFrom('events').select('id').where('id', 'in', acked).execute();
    expect(stored).toHaveLength(acked.length);
    await receiver.waitFor(
      (r) => {
        const seen = new Set(r.map(webhookId));
        return acked.every((id) => seen.has(id));
      },
      20_000,
      'every acknowledged event',
    );
  });
});
