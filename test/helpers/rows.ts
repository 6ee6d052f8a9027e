import { tokenDigest } from '../../src/store/sources.js';
import type { SourceRow } from '../../src/store/schema.js';

/** A `twilio` source row as stored (before sealing), for store tests that write sources directly. */
export function twilioSourceRow(accountId: string, id: string, token: string, authToken: string): SourceRow {
  return {
    id,
    account_id: accountId,
    title: id,
    format: 'twilio',
    settings: JSON.stringify({ auth_token: authToken }),
    token,
    token_digest: tokenDigest(token),
    created_at: 1,
    updated_at: 1,
  };
}
