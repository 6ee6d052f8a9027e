import { describe, expect, it } from 'vitest';
import { toCallback } from '../../src/routing/callback.js';
import { renderRequest } from '../../src/formats/index.js';
import { renderEngagelab } from '../../src/formats/engagelab.js';
import { redactHeaders, redactUrl } from '../../src/delivery/redact.js';
import { requestTarget } from '../../src/delivery/http.js';
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

describe('template URL placeholders stay inside their path segment', () => {
  const tpl = toCallback(row({ format: 'template', method: 'POST', url: 'https://example.com/base/{{data.p}}/end', settings: JSON.stringify({ channel: 'none' }) }));
  const rendered = (p: unknown) => renderRequest(ev('evt_1', 'sms.delivered', { p }), tpl, 0).url;

  it.each([
    ['..', 'https://example.com/base/%2E%2E/end'],
    ['.', 'https://example.com/base/%2E/end'],
    ['a/b', 'https://example.com/base/a%2Fb/end'],
    ['../../admin', 'https://example.com/base/..%2F..%2Fadmin/end'],
    ['x?y=1', 'https://example.com/base/x%3Fy%3D1/end'],
    ['x#frag', 'https://example.com/base/x%23frag/end'],
    ['..\\..\\admin', 'https://example.com/base/..%5C..%5Cadmin/end'],
    ['%2e%2e', 'https://example.com/base/%252e%252e/end'],
    ['...', 'https://example.com/base/.../end'],
    ['v1.2', 'https://example.com/base/v1.2/end'],
  ])('%j renders as %s', (p, url) => {
    expect(rendered(p)).toBe(url);
  });

  it('two placeholders that together make ".." stay a segment', () => {
    const two = toCallback(row({ format: 'template', method: 'POST', url: 'https://example.com/base/{{data.a}}{{data.b}}/end', settings: JSON.stringify({ channel: 'none' }) }));
    expect(renderRequest(ev('evt_1', 'sms.delivered', { a: '.', b: '.' }), two, 0).url).toBe('https://example.com/base/%2E%2E/end');
  });
});

describe('requestTarget (the path the sender puts on the request line)', () => {
  const target = (u: string) => requestTarget(u, new URL(u));
  it.each([
    ['https://example.com/base/%2E%2E/end', '/base/%2E%2E/end'],
    ['https://example.com/base/%2E/end?q=%2e', '/base/%2E/end?q=%2e'],
    ['https://example.com/base/.%2E/end', '/base/.%2E/end'],
    // literal dot segments are still resolved, the rest is encoded as URL parsing does
    ['https://example.com/a/../b/./%2E%2E/é<x>?x=%25&y=a b', '/b/%2E%2E/%C3%A9%3Cx%3E?x=%25&y=a%20b'],
    ['https://u:p%40ss@example.com/%2e%2e/', '/%2e%2e/'],
  ])('%s → %s', (u, path) => {
    expect(target(u)).toBe(path);
  });
});
