import { describe, expect, it } from 'vitest';
import { toCallback } from '../../src/routing/callback.js';
import { renderRequest } from '../../src/formats/index.js';
import { renderEngagelab } from '../../src/formats/engagelab.js';
import { redactHeaders, redactUrl } from '../../src/delivery/redact.js';
import type { CallbackRow } from '../../src/store/schema.js';
import type { RenderEvent } from '../../src/formats/types.js';

const row = (over: Partial<CallbackRow>): CallbackRow => ({
  id: 'cb_1',
  account_id: 'acc',
  api_user: null,
  title: 't',
  url: 'https://example.com/cb',
  format: 'standard',
  method: 'POST',
  channel: null,
  events: '[]',
  headers: '{}',
  settings: '{}',
  secret: '',
  previous_secret: null,
  previous_secret_expires_at: null,
  timeout_ms: 3000,
  enabled: 1,
  disabled_reason: null,
  status: 'unknown',
  status_checked_at: null,
  status_reason: null,
  created_at: 0,
  updated_at: 0,
  ...over,
});

const ev = (id: string, type: string, data: unknown): RenderEvent => ({ id, type, createdAt: 1_767_322_245_000, data, resourceId: null, customArgs: null });

describe('vendor formats (pure renderers)', () => {
  const engagelab = toCallback(row({ format: 'engagelab', settings: JSON.stringify({ username: 'u' }), secret: 'k' }));

  it('engagelab batches several events into one envelope: total = rows', () => {
    const req = renderEngagelab([ev('evt_1', 'otp.sent', { message_id: 'a' }), ev('evt_2', 'otp.delivered', { message_id: 'b' })], engagelab, 1_767_322_246_000);
    const body = JSON.parse(req.body) as { total: number; rows: { message_id: string; status: { message_status: string } }[] };
    expect(body.total).toBe(2);
    expect(body.rows.map((r) => [r.message_id, r.status.message_status])).toEqual([
      ['a', 'sent'],
      ['b', 'delivered'],
    ]);
    expect(req.success).toEqual({ statuses: [200] });
  });

  it('is a pure function of (events, callback, time): same inputs, same request; another time, another nonce', () => {
    const e = ev('evt_1', 'otp.sent', {});
    expect(renderRequest(e, engagelab, 1000)).toEqual(renderRequest(e, engagelab, 1000));
    const nonce = (now: number) => /nonce=([^;]+)/.exec(renderRequest(e, engagelab, now).headers['X-CALLBACK-ID']!)![1];
    expect(nonce(1000)).not.toBe(nonce(2000));
  });

  it('refuses event types a format cannot carry (the delivery fails as render_error)', () => {
    expect(() => renderRequest(ev('evt_1', 'email.open', {}), engagelab, 0)).toThrow(/cannot carry/);
    const octopush = toCallback(row({ format: 'octopush' }));
    expect(() => renderRequest(ev('evt_1', 'otp.sent', {}), octopush, 0)).toThrow(/cannot carry/);
  });

  it("redacts the formats' secrets in headers and URLs", () => {
    const h = redactHeaders({
      'X-CALLBACK-ID': 'timestamp=1;nonce=2;username=u;signature=s',
      'X-WebHook-Signature': 'abc',
      'X-Whispir-Callback-Key': 'key',
      Authorization: 'Bearer t',
      'X-WebHook-AppKey': 'email',
      'X-WebHook-Timestamp': '1',
    });
    expect(h).toEqual({
      'X-CALLBACK-ID': '[redacted]',
      'X-WebHook-Signature': '[redacted]',
      'X-Whispir-Callback-Key': '[redacted]',
      Authorization: '[redacted]',
      'X-WebHook-AppKey': 'email',
      'X-WebHook-Timestamp': '1',
    });
    expect(redactUrl('https://example.com/cb.php?auth=12345&x=1')).toBe('https://example.com/cb.php?auth=redacted&x=1');
  });
});
