import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import { twilioSourceRow } from '../helpers/rows.js';
import type { Store } from '../../src/store/db.js';
import { findSource, findSourceByToken, insertSource } from '../../src/store/sources.js';
import { insertInboundRequests, listInboundRequests, listStoredInboundRequests, markInboundRequest } from '../../src/store/inbound.js';
import { sealStoredSecrets, rotateMasterKey } from '../../src/admin/secrets.js';
import { keyId, setMasterKeys } from '../../src/lib/seal.js';
import type { NewInboundRequest } from '../../src/store/schema.js';

// Sources and their requests as stored: secrets sealed (also by the start sweep and a key rotation),
// found by the token's digest, requests listed newest first, the outcome recorded once.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`sources and inbound requests on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s));
    afterAll(() => setMasterKeys(undefined));

    const source = (id: string, token: string, authToken: string) => twilioSourceRow('acc_src', id, token, authToken);

    it('the start sweep seals a plain source (token, auth token); a rotation seals it again; reads open it', async () => {
      setMasterKeys(undefined);
      await insertSource(store.db, source('src_plain', 'plain-token-000000000000000000000', 'auth-plain'));
      const rawBefore = await store.db.selectFrom('sources').selectAll().where('id', '=', 'src_plain').executeTakeFirstOrThrow();
      expect(rawBefore.token).toBe('plain-token-000000000000000000000');

      setMasterKeys('sources-key-one-0123456789');
      await sealStoredSecrets(store);
      const sealed = await store.db.selectFrom('sources').selectAll().where('id', '=', 'src_plain').executeTakeFirstOrThrow();
      expect(sealed.token).toMatch(new RegExp(`^sealed:v2:${keyId('sources-key-one-0123456789')}:`));
      expect(sealed.settings).not.toContain('auth-plain');

      setMasterKeys('sources-key-two-0123456789', ['sources-key-one-0123456789']);
      await rotateMasterKey(store);
      const rotated = await store.db.selectFrom('sources').selectAll().where('id', '=', 'src_plain').executeTakeFirstOrThrow();
      expect(rotated.token).toMatch(new RegExp(`^sealed:v2:${keyId('sources-key-two-0123456789')}:`));

      setMasterKeys('sources-key-two-0123456789');
      const byToken = await findSourceByToken(store.db, 'plain-token-000000000000000000000');
      expect(byToken).toMatchObject({ id: 'src_plain', token: 'plain-token-000000000000000000000', settings: JSON.stringify({ auth_token: 'auth-plain' }) });
      expect(await findSourceByToken(store.db, 'another-token')).toBeUndefined();
      expect(await findSource(store.db, 'acc_other', 'src_plain')).toBeUndefined();
    });

    it('lists requests newest first; records an outcome only from the states given; finds stored ones by age', async () => {
      const row = (id: string, at: number): NewInboundRequest => ({
        id,
        source_id: 'src_list',
        account_id: 'acc_src',
        received_at: at,
        method: 'POST',
        headers: '{}',
        query: '',
        body: id,
        state: 'stored',
        event_ids: null,
        error: null,
        mapped_at: null,
      });
      await insertInboundRequests(store.db, [row('inr_a', 100), row('inr_b', 300), row('inr_c', 200)]);
      const { rows, total } = await listInboundRequests(store.db, 'src_list', 0, 2);
      expect(total).toBe(3);
      expect(rows.map((r) => r.id)).toEqual(['inr_b', 'inr_c']);
      expect(await listStoredInboundRequests(store.db, 250, 10)).toEqual(['inr_a', 'inr_c']);

      const outcome = { state: 'mapped' as const, eventIds: ['evt_1'], error: null, at: 400 };
      expect(await markInboundRequest(store.db, 'inr_a', ['stored'], outcome)).toBe(true);
      // A second mapping of the same request (another process) records nothing.
      expect(await markInboundRequest(store.db, 'inr_a', ['stored'], { ...outcome, eventIds: ['evt_2'] })).toBe(false);
      const a = (await listInboundRequests(store.db, 'src_list', 2, 10)).rows[0]!;
      expect(a).toMatchObject({ id: 'inr_a', state: 'mapped', event_ids: '["evt_1"]', mapped_at: 400 });
      expect(await listStoredInboundRequests(store.db, 250, 10)).toEqual(['inr_c']);
    });
  });
}
