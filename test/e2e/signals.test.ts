import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/e2e.js';
import { RelayProcesses, exited } from '../helpers/processes.js';

/** `serve` stops on SIGTERM or SIGINT through the whole shutdown (src/shutdown.ts) and exits 0. */
describe('serve on SIGTERM and SIGINT (command line)', { timeout: 120_000 }, () => {
  const processes = new RelayProcesses();
  let dir: string;
  let databaseUrl: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-signals-'));
    databaseUrl = `sqlite:${join(dir, 'relay.db')}`;
  });
  afterEach(async () => {
    await processes.killAll();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => processes.close());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: closes once (a second signal changes nothing), logs the stop and exits 0; the next serve starts on the file`, async () => {
      const server = await processes.start(databaseUrl);
      const accepted = await processes.post(server, '/v1/events', { type: 'sms.delivered', data: { to: '+33600000000' } });
      expect(accepted.status).toBe(202);
      server.child.kill(signal);
      await waitUntil(() => server.output().includes('shutting down'));
      server.child.kill(signal);
      await exited(server.child);
      expect(server.child.exitCode, server.output()).toBe(0);
      const out = server.output();
      expect(out.match(/"msg":"shutting down"/g)).toHaveLength(1);
      expect(out).toContain(`"signal":"${signal}"`);
      expect(out).toContain('"msg":"callback-relay stopped"');
      // It let go of the file (SQLite's exclusive serve): a new one starts on it.
      const next = await processes.start(databaseUrl);
      expect((await processes.call(next, 'GET', '/readyz')).status).toBe(200);
    });
  }
});
