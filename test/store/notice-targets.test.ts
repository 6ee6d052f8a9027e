import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Store } from '../../src/store/db.js';
import { listNoticeTargets, replaceNoticeTargets } from '../../src/store/targets.js';
import { sweepSecrets } from '../../src/store/secrets.js';
import { keyId, reseal, setMasterKeys } from '../../src/lib/seal.js';
import type { NoticeTargetRow } from '../../src/store/schema.js';

const SLACK = 'https://hooks.slack.com/services/T1/B2/slack-secret-path';
const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// Secrets of notice targets are sealed at rest like every other secret: a Slack URL (the address is
// the credential) and a webhook target's signing secret; plain addresses stay readable. A rotation
// of the master key seals them again.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`notice targets at rest on ${backend.name}`, () => {
    let store: Store;
    useStore(backend, (s) => (store = s));
    afterAll(() => setMasterKeys(undefined));

    const target = (id: string, channel: string, address: string, addressSecret: boolean, secret: string | null): NoticeTargetRow => ({
      id,
      account_id: 'acc_t',
      owner: 'callback',
      owner_id: 'cb_t',
      channel,
      address,
      address_secret: addressSecret ? 1 : 0,
      secret,
      position: 0,
      created_at: 1,
    });
    const raw = () => store.db.selectFrom('notice_targets').selectAll().where('owner_id', '=', 'cb_t').orderBy('position').execute();

    it('seals the Slack URL and the webhook secret, not the e-mail address; reads them back opened, in order', async () => {
      setMasterKeys('targets-key-A-0123456789');
      await replaceNoticeTargets(store.db, 'callback', 'cb_t', [
        target('ntg_1', 'email', 'ops@example.com', false, null),
        target('ntg_2', 'slack', SLACK, true, null),
        target('ntg_3', 'webhook', 'https://example.com/n', false, WHSEC),
      ]);
      const rows = await raw();
      expect(rows.map((r) => r.position)).toEqual([0, 1, 2]);
      const text = JSON.stringify(rows);
      expect(text).not.toContain('slack-secret-path');
      expect(text).not.toContain(WHSEC);
      expect(text).toContain('ops@example.com');
      expect(text).toContain('https://example.com/n');
      expect(text.match(new RegExp(`sealed:v2:${keyId('targets-key-A-0123456789')}:`, 'g'))).toHaveLength(2);
      const opened = await listNoticeTargets(store.db, 'callback', 'cb_t');
      expect(opened.map((r) => [r.id, r.address, r.secret])).toEqual([
        ['ntg_1', 'ops@example.com', null],
        ['ntg_2', SLACK, null],
        ['ntg_3', 'https://example.com/n', WHSEC],
      ]);
    });

    it('a master key rotation seals them again under the new key', async () => {
      setMasterKeys('targets-key-B-0123456789', ['targets-key-A-0123456789']);
      const res = await sweepSecrets(store, reseal);
      expect(res.written).toBe(2);
      setMasterKeys('targets-key-B-0123456789');
      const text = JSON.stringify(await raw());
      expect(text).not.toContain(keyId('targets-key-A-0123456789'));
      const opened = await listNoticeTargets(store.db, 'callback', 'cb_t');
      expect(opened.map((r) => r.address)).toContain(SLACK);
      expect(opened.map((r) => r.secret)).toContain(WHSEC);
    });
  });
}
