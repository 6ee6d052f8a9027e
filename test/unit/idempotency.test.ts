import { describe, expect, it } from 'vitest';
import { requestDigest } from '../../src/ingest/idempotency.js';

describe('requestDigest', () => {
  const base = { type: 'sms.delivered', data: { a: 1, b: { c: [1, { d: 2, e: 3 }] } } };

  it('is the same for the same request, whatever the order of object keys', () => {
    expect(requestDigest({ data: { b: { c: [1, { e: 3, d: 2 }] }, a: 1 }, type: 'sms.delivered' })).toBe(requestDigest(base));
    expect(requestDigest({ ...base, custom_args: undefined })).toBe(requestDigest(base));
  });

  it('differs when any field of the request differs', () => {
    const d = requestDigest(base);
    for (const other of [
      { ...base, type: 'sms.sent' },
      { ...base, data: { a: 1, b: { c: [{ d: 2, e: 3 }, 1] } } },
      { ...base, data: { a: '1', b: { c: [1, { d: 2, e: 3 }] } } },
      { ...base, id: 'k' },
      { ...base, resource_id: 'm-1' },
      { ...base, callback_profile_id: 'cb_1' },
      { ...base, custom_args: {} },
    ]) {
      expect(requestDigest(other), JSON.stringify(other)).not.toBe(d);
    }
  });
});
