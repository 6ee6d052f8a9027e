import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startTestRelay, type TestRelay } from '../helpers/relay.js';
import { TestReceiver } from '../helpers/receiver.js';
import { createCallback, header, postEvent, waitForDelivery } from '../helpers/e2e.js';
import { keyId } from '../../src/lib/seal.js';
import type { Db } from '../../src/store/db.js';

/**
 * Secrets at rest (RELAY_MASTER_KEY): one database per backend goes through a deployment's life —
 * secrets stored plain without a key, sealed at the first start with one, a rotation to a new key
 * while a relay serves with both, then the new key alone — and a start with no key or a wrong one.
 * At each step the raw rows hold no plain secret, the API answers as before and deliveries are signed.
 */
const CLI = resolve('dist/src/cli.js');
const run = promisify(execFile);
const KEY_A = 'master-key-A-0123456789abcdef';
const KEY_B = 'master-key-B-fedcba9876543210';

/** Every secret the fixtures store, each distinctive enough to be found anywhere in a row. */
const S = {
  header: 'Bearer static-header-secret-1',
  apiKeyHeader: 'static-api-key-2',
  engagelab: 'engagelab-secret-3',
  engagelabAuth: 'engagelab-authorization-4',
  email: 'engagelab-email-key-5',
  whispir: 'whispir-key-6',
  password: 'template-password-7',
  encryption: Buffer.alloc(32, 7).toString('base64'),
  clientSecret: 'token-client-secret-8',
  tokenParam: 'token-param-secret-9',
  tokenHeader: 'token-header-secret-10',
  notificationBot: '123456:notification-bot-token-11',
  accountBot: '654321:account-bot-token-12',
  urlToken: 'url-token-16',
  queryValue: 'template-query-17',
};

/** Every row of the tables that hold secrets, as text, read with the store's own Kysely instance. */
async function rawRows(db: Db): Promise<string> {
  const tables = ['callbacks', 'callback_notifications', 'account_settings', 'attempts', 'notices'] as const;
  const parts: string[] = [];
  for (const table of tables) parts.push(JSON.stringify(await db.selectFrom(table).selectAll().execute()));
  return parts.join('\n');
}

/** The key ids that sealed values in `text` name. */
function sealedKeyIds(text: string): Set<string> {
  return new Set([...text.matchAll(/sealed:(v\d):([0-9a-f]*)/g)].map((m) => (m[1] === 'v2' ? m[2]! : m[1]!)));
}

/** Runs the built CLI with only the given environment; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`secrets at rest on ${backend.name}`, () => {
    let url: string;
    let drop: () => Promise<void>;
    let t: TestRelay | undefined;
    let receiver: TestReceiver;
    let auth: string;
    const ids: Record<string, string> = {};
    let signing: { secret: string; previous: string };
    /** What the API showed while the secrets were plain: it must show the same after every step. */
    let shown: unknown;

    const start = async (env: Record<string, string>) => {
      await t?.close();
      t = undefined;
      t = await startTestRelay(url, { env });
      return t;
    };

    /** The API's answers about every fixture (callbacks, signing secrets, notifications, account). */
    const apiView = async (relay: TestRelay) => {
      const view: Record<string, unknown> = {};
      for (const [name, id] of Object.entries(ids)) {
        view[name] = (await relay.api('GET', `/v1/callbacks/${id}`, undefined, { auth })).body;
        view[`${name}/secret`] = (await relay.api('GET', `/v1/callbacks/${id}/secret`, undefined, { auth })).body;
      }
      // (Its failure state, also in that answer, moves with the deliveries.)
      const { health: _, ...notifications } = (await relay.api('GET', `/v1/callbacks/${ids.standard}/notifications`, undefined, { auth })).body;
      view.notifications = notifications;
      view.account = (await relay.api('GET', '/v1/account', undefined, { auth })).body;
      return view;
    };

    /** One event to each deliverable fixture; each arrives with its credentials opened and signed. */
    const deliverAll = async (relay: TestRelay) => {
      const sent = receiver.received.length;
      const standard = await postEvent(relay, { type: 'sms.delivered', data: { n: 1 }, callback_profile_id: ids.standard }, auth);
      expect((await waitForDelivery(relay, standard, { auth })).state).toBe('delivered');
      const engagelab = await postEvent(relay, { type: 'sms.inbound', data: { from: '1' }, callback_profile_id: ids.engagelab }, auth);
      expect((await waitForDelivery(relay, engagelab, { auth })).state).toBe('delivered');
      const whispir = await postEvent(relay, { type: 'sms.inbound', data: { from: '1' }, callback_profile_id: ids.whispir }, auth);
      expect((await waitForDelivery(relay, whispir, { auth })).state).toBe('delivered');
      const template = await postEvent(relay, { type: 'sms.inbound', data: { from: '1' }, callback_profile_id: ids.template }, auth);
      expect((await waitForDelivery(relay, template, { auth })).state).toBe('delivered');
      const got = (path: string) => receiver.received.slice(sent).find((r) => r.path.startsWith(path))!;
      const std = got('/standard');
      // Both live secrets sign during the rotation period; each verifies on its own.
      expect(new Webhook(signing.secret).verify(std.body, std.headers as Record<string, string>)).toEqual(JSON.parse(std.body));
      expect(new Webhook(signing.previous).verify(std.body, std.headers as Record<string, string>)).toEqual(JSON.parse(std.body));
      expect(header(std.headers as Record<string, string>, 'authorization')).toBe(S.header);
      expect(header(std.headers as Record<string, string>, 'x-api-key')).toBe(S.apiKeyHeader);
      const el = got('/engagelab');
      expect(el.headers.authorization).toBe(S.engagelabAuth);
      const m = /timestamp=(\d+);nonce=(\w+);username=u1;signature=(\w+)/.exec(String(el.headers['x-callback-id']))!;
      expect(m[3]).toBe(createHmac('sha256', S.engagelab).update(m[1]! + m[2]! + 'u1').digest('hex'));
      expect(got('/whispir').headers['x-whispir-callback-key']).toBe(S.whispir);
      expect(got('/template').headers.authorization).toBe(`Basic ${Buffer.from(`ann:${S.password}`).toString('base64')}`);
      expect(got('/template').path).toBe(`/template?api_key=${S.queryValue}`);
      expect(std.path).toBe(`/standard?token=${S.urlToken}`);
    };

    const expectNoPlainSecret = (raw: string) => {
      for (const [name, secret] of Object.entries(S)) expect(raw, `${name} in the raw rows`).not.toContain(secret);
      expect(raw).not.toContain(signing.secret);
      expect(raw).not.toContain(signing.previous);
      expect(raw).not.toContain('whsec_');
    };

    beforeAll(async () => {
      const db = await backend.create();
      url = db.url;
      drop = db.drop;
      receiver = await new TestReceiver().start();
    });
    afterAll(async () => {
      await receiver.close();
      await t?.close();
      await drop?.();
    });

    it('secrets stored plain before a key was set are sealed at the first start with RELAY_MASTER_KEY; the API and deliveries are unchanged', async () => {
      const relay = await start({});
      auth = (await relay.newTenant(`secrets-${backend.name}`)).auth;
      const std = await createCallback(relay, { title: 'standard', url: `${receiver.url}/standard?token=${S.urlToken}`, headers: { Authorization: S.header, 'X-Api-Key': S.apiKeyHeader } }, auth);
      ids.standard = std.id;
      const rotated = await relay.api('POST', `/v1/callbacks/${std.id}/rotate-secret`, undefined, { auth });
      signing = { secret: rotated.body.secret as string, previous: std.secret };
      ids.engagelab = (await createCallback(relay, { title: 'engagelab', format: 'engagelab', url: `${receiver.url}/engagelab`, secret: S.engagelab, username: 'u1', authorization: S.engagelabAuth }, auth)).id;
      ids.email = (await createCallback(relay, { title: 'email', format: 'engagelab-email', url: `${receiver.url}/email`, secret: S.email }, auth)).id;
      ids.whispir = (await createCallback(relay, { title: 'whispir', format: 'whispir', url: `${receiver.url}/whispir`, auth: { type: 'httpheader', key: S.whispir } }, auth)).id;
      ids.template = (
        await createCallback(
          relay,
          { title: 'template', format: 'template', url: `${receiver.url}/template`, auth: { type: 'basic', username: 'ann', password: S.password }, encryption: { key: S.encryption }, query: { api_key: S.queryValue } },
          auth,
        )
      ).id;
      ids.token = (
        await createCallback(
          relay,
          {
            title: 'token',
            format: 'template',
            url: `${receiver.url}/token-auth`,
            token_auth: { url: `${receiver.url}/token`, client_id: 'c1', client_secret: S.clientSecret, params: { password: S.tokenParam }, headers: { 'X-Token': S.tokenHeader } },
          },
          auth,
        )
      ).id;
      // Stored as given without a key, a value that looks sealed would pass for one: refused.
      const lookAlike = { title: 'look-alike', url: `${receiver.url}/x`, headers: { 'X-Look': `sealed:v2:${keyId('x')}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` } };
      const refused = await relay.api('POST', '/v1/callbacks', lookAlike, { auth });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'invalid', field: 'headers.X-Look' });
      const account = (await relay.api('GET', '/v1/account', undefined, { auth })).body;
      const token = await relay.api('PATCH', '/v1/account', { admin_email: 'changed@example.com', telegram_bot_token: lookAlike.headers['X-Look'] }, { auth });
      expect(token.body).toMatchObject({ code: 'invalid', field: 'telegram_bot_token' });
      expect((await relay.api('GET', '/v1/account', undefined, { auth })).body).toEqual(account);
      expect((await relay.api('PUT', `/v1/callbacks/${ids.standard}/notifications`, { telegram_bot_token: S.notificationBot }, { auth })).status).toBe(200);
      expect((await relay.api('PATCH', '/v1/account', { telegram_bot_token: S.accountBot }, { auth })).status).toBe(200);
      await deliverAll(relay);
      shown = await apiView(relay);
      // Without a key they are plain: the scan below would see them.
      const plain = await rawRows(relay.relay.store.db);
      for (const secret of Object.values(S)) expect(plain).toContain(secret);

      const sealed = await start({ RELAY_MASTER_KEY: KEY_A });
      const raw = await rawRows(sealed.relay.store.db);
      expectNoPlainSecret(raw);
      expect(sealedKeyIds(raw)).toEqual(new Set([keyId(KEY_A)]));
      expect(await apiView(sealed)).toEqual(shown);
      expect((await sealed.api('GET', `/v1/callbacks/${ids.standard}/secret`, undefined, { auth })).body.secret).toBe(signing.secret);
      await deliverAll(sealed);
    });

    it('with the key set, secrets written through the API are sealed as they are stored', async () => {
      const relay = t!;
      const std = await createCallback(relay, { title: 'new standard', url: `${receiver.url}/standard`, headers: { Authorization: 'Bearer written-later-13' } }, auth);
      expect((await relay.api('PATCH', `/v1/callbacks/${ids.engagelab}`, { authorization: 'engagelab-authorization-14' }, { auth })).status).toBe(200);
      expect((await relay.api('PATCH', '/v1/account', { telegram_bot_token: '777:account-bot-token-15' }, { auth })).status).toBe(200);
      const raw = await rawRows(relay.relay.store.db);
      expectNoPlainSecret(raw);
      for (const secret of [std.secret, 'written-later-13', 'engagelab-authorization-14', '777:account-bot-token-15']) expect(raw).not.toContain(secret);
      expect((await relay.api('GET', `/v1/callbacks/${std.id}/secret`, undefined, { auth })).body.secret).toBe(std.secret);
      // With a key, a value that looks sealed is sealed like any other, and reads back as given after a restart.
      const look = `sealed:v2:${keyId('x')}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
      const lookAlike = await createCallback(relay, { title: 'look-alike', url: `${receiver.url}/x`, headers: { 'X-Look': look } }, auth);
      const restarted = await start({ RELAY_MASTER_KEY: KEY_A });
      expect((await restarted.api('GET', `/v1/callbacks/${lookAlike.id}`, undefined, { auth })).body.headers).toEqual({ 'X-Look': look });
      await restarted.api('DELETE', `/v1/callbacks/${lookAlike.id}`, undefined, { auth });
      // Back to the fixtures' values, so the later steps compare with what was shown first.
      await restarted.api('DELETE', `/v1/callbacks/${std.id}`, undefined, { auth });
      await restarted.api('PATCH', `/v1/callbacks/${ids.engagelab}`, { authorization: S.engagelabAuth }, { auth });
      await restarted.api('PATCH', '/v1/account', { telegram_bot_token: S.accountBot }, { auth });
      const view = (await apiView(restarted)) as Record<string, { updated_at?: string }>;
      const before = shown as Record<string, { updated_at?: string }>;
      expect({ ...view, engagelab: { ...view.engagelab, updated_at: '' } }).toEqual({ ...before, engagelab: { ...before.engagelab, updated_at: '' } });
      shown = view;
    });

    it('rotate-master-key seals every secret under the new key while a relay serves with both keys; then the new key alone serves', async () => {
      // Step 1 of the README: deploy with the new key and the old one.
      const both = await start({ RELAY_MASTER_KEY: KEY_B, RELAY_PREVIOUS_MASTER_KEY: KEY_A });
      expect(sealedKeyIds(await rawRows(both.relay.store.db))).toEqual(new Set([keyId(KEY_A)]));
      await deliverAll(both);

      // Step 2: the command, in a process of its own, while that relay keeps serving.
      const rotated = await cli(['rotate-master-key'], { DATABASE_URL: url, RELAY_MASTER_KEY: KEY_B, RELAY_PREVIOUS_MASTER_KEY: KEY_A });
      expect(rotated.stderr).toBe('');
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toMatch(/rows sealed again: [1-9]\d*/);
      const raw = await rawRows(both.relay.store.db);
      expectNoPlainSecret(raw);
      expect(sealedKeyIds(raw)).toEqual(new Set([keyId(KEY_B)]));
      await deliverAll(both);
      // The serving relay reads back what the command wrote (as after any write: every callback reloaded).
      await both.relay.registry.reload();
      await deliverAll(both);

      // Step 3: the old key dropped.
      const only = await start({ RELAY_MASTER_KEY: KEY_B });
      expect(await apiView(only)).toEqual(shown);
      await deliverAll(only);
      // Run again, the command finds nothing left to do.
      const again = await cli(['rotate-master-key'], { DATABASE_URL: url, RELAY_MASTER_KEY: KEY_B });
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/rows sealed again: 0\b/);
    });

    it('a start with sealed secrets and no key, the old key or a wrong key fails naming RELAY_MASTER_KEY, changing nothing', async () => {
      await t?.close();
      t = undefined;
      const probe = await startTestRelay(url, { env: { RELAY_MASTER_KEY: KEY_B }, roles: ['api'] });
      const before = await rawRows(probe.relay.store.db);
      await probe.close();

      await expect(startTestRelay(url)).rejects.toThrow(/RELAY_MASTER_KEY is not set/);
      await expect(startTestRelay(url, { env: { RELAY_MASTER_KEY: KEY_A } })).rejects.toThrow(/RELAY_MASTER_KEY/);
      await expect(startTestRelay(url, { env: { RELAY_MASTER_KEY: 'a-wrong-key-0123456789' } })).rejects.toThrow(/RELAY_MASTER_KEY/);

      // The command line: a configuration error (exit code 2) that says what to set.
      const base = { DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', RELAY_ADMIN_USER: ADMIN.user, RELAY_ADMIN_KEY: ADMIN.key };
      const none = await cli(['serve'], base);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/^configuration error: .*RELAY_MASTER_KEY is not set.*set RELAY_MASTER_KEY to the key that sealed them/);
      const wrong = await cli(['serve'], { ...base, RELAY_MASTER_KEY: KEY_A });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^configuration error: .*RELAY_MASTER_KEY/);

      t = await startTestRelay(url, { env: { RELAY_MASTER_KEY: KEY_B } });
      expect(await rawRows(t.relay.store.db)).toBe(before);
    });
  });
}
