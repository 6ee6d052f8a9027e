import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import { twilioSourceRow } from '../helpers/rows.js';
import type { Store } from '../../src/store/db.js';
import { insertSource } from '../../src/store/sources.js';
import { SourceLookup } from '../../src/inbound/sources.js';

// The inbound route's sources by token: read once and kept for maxAgeMs, forgotten at once by
// `forget` (the API's own changes), never kept when the token matches nothing.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`source lookup on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s));

    const source = (id: string, token: string, authToken: string) => twilioSourceRow('acc_lookup', id, token, authToken);
    /** Changes a source's settings behind the lookup's back (as another process would). */
    const setAuthToken = (id: string, authToken: string) =>
      store.db.updateTable('sources').set({ settings: JSON.stringify({ auth_token: authToken }) }).where('id', '=', id).execute();

    it('reads a source once per maxAgeMs: a change made elsewhere is seen once that has passed', async () => {
      let now = 0;
      const lookup = new SourceLookup(store.db, { maxAgeMs: 1000, now: () => now });
      await insertSource(store.db, source('src_age', 'token-age-0000000000000000000000', 'first'));
      const found = await lookup.find('token-age-0000000000000000000000');
      expect(found?.row.id).toBe('src_age');
      expect(found?.format.name).toBe('twilio');
      expect(found?.settings).toEqual({ auth_token: 'first' });
      expect(Object.isFrozen(found?.settings)).toBe(true);

      await setAuthToken('src_age', 'second');
      now = 999;
      expect((await lookup.find('token-age-0000000000000000000000'))?.settings).toEqual({ auth_token: 'first' });
      now = 1000;
      expect((await lookup.find('token-age-0000000000000000000000'))?.settings).toEqual({ auth_token: 'second' });
    });

    it('forget: the next lookup reads the database, also when a lookup was under way as it was called', async () => {
      const lookup = new SourceLookup(store.db, { now: () => 0 });
      await insertSource(store.db, source('src_forget', 'token-forget-000000000000000000000', 'first'));
      expect((await lookup.find('token-forget-000000000000000000000'))?.settings).toEqual({ auth_token: 'first' });
      await setAuthToken('src_forget', 'second');
      lookup.forget();
      expect((await lookup.find('token-forget-000000000000000000000'))?.settings).toEqual({ auth_token: 'second' });

      // A lookup under way when forget() is called (it may have read before the change) keeps nothing.
      lookup.forget();
      const inFlight = lookup.find('token-forget-000000000000000000000');
      lookup.forget();
      expect((await inFlight)?.settings).toEqual({ auth_token: 'second' });
      await setAuthToken('src_forget', 'third');
      expect((await lookup.find('token-forget-000000000000000000000'))?.settings).toEqual({ auth_token: 'third' });

      await store.db.deleteFrom('sources').where('id', '=', 'src_forget').execute();
      lookup.forget();
      expect(await lookup.find('token-forget-000000000000000000000')).toBeUndefined();
    });

    it('keeps nothing for a token that matches no source: one created after is found at once', async () => {
      const lookup = new SourceLookup(store.db, { now: () => 0 });
      expect(await lookup.find('token-later-0000000000000000000000')).toBeUndefined();
      await insertSource(store.db, source('src_later', 'token-later-0000000000000000000000', 'later'));
      expect((await lookup.find('token-later-0000000000000000000000'))?.row.id).toBe('src_later');
    });
  });
}
