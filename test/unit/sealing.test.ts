import { afterAll, describe, expect, it } from 'vitest';
import { setMasterKeys } from '../../src/lib/seal.js';
import { openCallback, sealCallback } from '../../src/store/sealing.js';
import type { CallbackRow } from '../../src/store/schema.js';

describe('which callback values are sealed (store/sealing.ts)', () => {
  afterAll(() => setMasterKeys(undefined));
  const row = (over: Partial<CallbackRow>): CallbackRow => ({
    id: 'cb_1', account_id: 'a', api_user: null, title: 't', url: 'https://example.com/hook', format: 'octopush', method: 'POST', channel: null,
    events: '[]', headers: '{}', settings: '{}', secret: '', previous_secret: null, previous_secret_expires_at: null, timeout_ms: 1000,
    enabled: 1, disabled_reason: null, status: 'unknown', status_checked_at: null, status_reason: null, created_at: 1, updated_at: 1, ...over,
  });

  it('seals URLs that may carry credentials (user:password@, a query string) and leaves the others readable', () => {
    setMasterKeys('codec-key-0123456789');
    const urls = { delivery: 'https://u:p4ss@example.com/d', reply: 'https://example.com/r?key=k3y', opt_out: 'https://example.com/o' };
    const plain = row({ url: 'https://example.com/hook', settings: JSON.stringify({ urls, encoding: 'json' }) });
    const stored = sealCallback(plain);
    expect(stored.url).toBe('https://example.com/hook');
    const s = JSON.parse(stored.settings) as { urls: Record<string, string>; encoding: string };
    expect(s.urls.delivery).toMatch(/^sealed:v2:/);
    expect(s.urls.reply).toMatch(/^sealed:v2:/);
    expect(s.urls.opt_out).toBe(urls.opt_out);
    expect(s.encoding).toBe('json');
    expect(sealCallback(row({ url: 'https://example.com/hook?token=t0k' })).url).toMatch(/^sealed:v2:/);
    expect(openCallback(stored)).toEqual(plain);
  });

  it('refuses a value that looks sealed without a key (it would pass for a sealed secret); with one, seals it like any other', () => {
    const look = 'sealed:v2:deadbeef:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    setMasterKeys(undefined);
    expect(() => sealCallback({ headers: JSON.stringify({ 'X-Look': look }) })).toThrow(/headers\.X-Look: may not begin with "sealed:"/);
    expect(() => sealCallback({ settings: JSON.stringify({ auth: { type: 'raw', value: look } }) })).toThrow(/auth\.value/);
    setMasterKeys('codec-key-0123456789');
    const stored = sealCallback(row({ headers: JSON.stringify({ 'X-Look': look }) }));
    expect(JSON.parse(stored.headers)['X-Look']).not.toBe(look);
    expect(JSON.parse(openCallback(stored).headers)).toEqual({ 'X-Look': look });
  });

  it('leaves empty secrets and absent columns alone', () => {
    setMasterKeys('codec-key-0123456789');
    expect(sealCallback({ secret: '', enabled: 0 })).toEqual({ secret: '', enabled: 0 });
    expect(sealCallback({ previous_secret: null })).toEqual({ previous_secret: null });
  });
});
