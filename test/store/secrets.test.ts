import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Store } from '../../src/store/db.js';
import { findCallback, insertCallback, updateCallback } from '../../src/store/callbacks.js';
import { listCallbackSecrets, sweepSecrets, updateCallbackSecrets } from '../../src/store/secrets.js';
import { sealStoredSecrets } from '../../src/admin/secrets.js';
import { keyId, reseal, setMasterKeys } from '../../src/lib/seal.js';
import type { CallbackRow } from '../../src/store/schema.js';

// The sweep that seals stored secrets (at start, and again under a new key): batches, idempotence,
// and a row edited between its read and its write is left as the other writer made it.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`sealing stored secrets on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s));
    afterAll(() => setMasterKeys(undefined));

    const callback = (id: string, secret: string): CallbackRow => ({
      id,
      account_id: 'acc_seal',
      api_user: null,
      title: id,
      url: 'https://example.com/hook',
      format: 'standard',
      method: 'POST',
      channel: null,
      events: '[]',
      headers: JSON.stringify({ Authorization: `Bearer header-of-${id}` }),
      settings: '{}',
      secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      timeout_ms: 15_000,
      enabled: 1,
      disabled_reason: null,
      status: 'unknown',
      status_checked_at: null,
      status_reason: null,
      created_at: 1,
      updated_at: 1,
    });

    it('seals plain rows in batches, once: a second sweep writes nothing', async () => {
      setMasterKeys(undefined);
      for (let i = 0; i < 7; i++) await insertCallback(store.db, callback(`cb_seal_${i}`, `whsec_plain_${i}`));
      setMasterKeys('store-test-key-0123456789');
      const first = await sweepSecrets(store, reseal, 2);
      expect(first).toEqual({ rows: 7, written: 7, skipped: 0 });
      const raw = JSON.stringify(await listCallbackSecrets(store.db, '', 100));
      expect(raw).not.toMatch(/whsec_plain|header-of/);
      expect(raw.match(new RegExp(`sealed:v2:${keyId('store-test-key-0123456789')}:`, 'g'))).toHaveLength(14);
      expect((await sealStoredSecrets(store)).written).toBe(0);
      expect((await findCallback(store.db, 'acc_seal', 'cb_seal_3'))!.secret).toBe('whsec_plain_3');
    });

    it('does not overwrite a row changed between its read and its write', async () => {
      const [stale] = await listCallbackSecrets(store.db, 'cb_seal_4', 1);
      expect(stale!.id).toBe('cb_seal_5');
      // An edit through the API lands in between.
      await updateCallback(store.db, 'acc_seal', 'cb_seal_5', { secret: 'whsec_edited' });
      setMasterKeys('newer-key-0123456789', ['store-test-key-0123456789']);
      expect(await updateCallbackSecrets(store.db, stale!, { ...stale!, secret: reseal(stale!.secret) })).toBe(false);
      expect((await findCallback(store.db, 'acc_seal', 'cb_seal_5'))!.secret).toBe('whsec_edited');
    });
  });
}
