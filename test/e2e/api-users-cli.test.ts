import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { runCli } from '../helpers/processes.js';
import { basic, startTestRelay } from '../helpers/relay.js';

const keyOf = (stdout: string) => /api_key: (\S+)/.exec(stdout)![1]!;

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`callback-relay api-users on ${backend.name}`, () => {
    it('creates, lists, rotates and revokes; the relay takes the keys that the CLI printed, and no other', async () => {
      const db = await backend.create();
      const env = { DATABASE_URL: db.url };
      try {
        const made = await runCli(['api-users', 'create', 'cli-ops'], env);
        expect(made.code, made.stderr).toBe(0);
        expect(made.stdout).toMatch(/^account: acct_\S+\napi_user: cli-ops\napi_key: \S{32}\n$/);
        const account = /account: (\S+)/.exec(made.stdout)![1]!;
        const second = await runCli(['api-users', 'create', 'cli-two', '--account', account], env);
        expect(second.code, second.stderr).toBe(0);
        // The old command still works as before.
        const old = await runCli(['create-api-user', '--name', 'cli-old'], env);
        expect(old.code, old.stderr).toBe(0);

        const rotated = await runCli(['api-users', 'rotate-key', 'cli-ops'], env);
        expect(rotated.code, rotated.stderr).toBe(0);
        expect(keyOf(rotated.stdout)).not.toBe(keyOf(made.stdout));
        const revoked = await runCli(['api-users', 'revoke', 'cli-two'], env);
        expect(revoked.code, revoked.stderr).toBe(0);
        expect(revoked.stdout).toBe('revoked: cli-two\n');
        const missing = await runCli(['api-users', 'revoke', 'nobody'], env);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain('no api user "nobody"');
        expect((await runCli(['api-users', 'rotate-key', 'cli-two'], env)).code).toBe(1);

        const list = await runCli(['api-users', 'list', '--account', account], env);
        expect(list.code, list.stderr).toBe(0);
        const lines = list.stdout.trim().split('\n');
        expect(lines[0]).toBe('name\taccount\tcreated_at\trevoked_at');
        expect(lines.slice(1).map((l) => l.split('\t')[0])).toEqual(['cli-ops', 'cli-two']);
        expect(lines[1]!.split('\t')[3]).toBe('-');
        expect(lines[2]!.split('\t')[3]).toMatch(/^\d{4}-\d\d-\d\dT/);

        const t = await startTestRelay(db.url);
        try {
          expect((await t.api('GET', '/v1/callbacks', undefined, { auth: basic('cli-ops', keyOf(rotated.stdout)) })).status).toBe(200);
          expect((await t.api('GET', '/v1/callbacks', undefined, { auth: basic('cli-ops', keyOf(made.stdout)) })).status).toBe(401);
          expect((await t.api('GET', '/v1/callbacks', undefined, { auth: basic('cli-two', keyOf(second.stdout)) })).status).toBe(401);
          expect((await t.api('GET', '/v1/callbacks', undefined, { auth: basic('cli-old', keyOf(old.stdout)) })).status).toBe(200);
        } finally {
          await t.close();
        }
      } finally {
        await db.drop();
      }
    });
  });
}
