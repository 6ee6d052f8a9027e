/**
 * Hostile and out-of-range input to the API (issue 16): each case is refused with a clear
 * `{code, message}` and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, tenant, useRelay } from './support.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`API hardening on ${backend.name}`, () => {
    // useRelay runs with RELAY_ALLOW_PRIVATE_NETWORKS=1, as local use does.
    const h = useRelay(backend);

    it('refuses cloud metadata URLs even with RELAY_ALLOW_PRIVATE_NETWORKS=1 (checked on save, no traffic)', async () => {
      const { t } = h;
      const me = await tenant(t, 'hd-metadata');
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:a9fe:a9fe]/', 'http://metadata.google.internal/computeMetadata/v1/']) {
        expectError(await t.api('POST', '/v1/callbacks', { title: 'imds', url }, { auth: me.auth }), 422, 'invalid', 'url');
        expectError(
          await t.api('POST', '/v1/callbacks', { title: 'imds', format: 'template', url: `${url}{{data.message_id}}` }, { auth: me.auth }),
          422,
          'invalid',
          'url',
        );
      }
      const list = await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth });
      expect(list.body.total).toBe(0);
    });
  });
}
