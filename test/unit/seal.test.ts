import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { currentKeyId, keyId, reseal, seal, sealedKeyId, SealError, setMasterKeys, unseal } from '../../src/lib/seal.js';
import { loadConfig } from '../../src/config.js';

/** A value as the first format stored it (template secrets before key ids): sealed:v1:, no key named. */
function sealV1(masterKey: string, plain: string): string {
  const key = Buffer.from(hkdfSync('sha256', masterKey, 'callback-relay', 'settings seal v1', 32));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return 'sealed:v1:' + Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64');
}

describe('the master key ring (lib/seal.ts)', () => {
  afterEach(() => setMasterKeys(undefined));

  it('seals under the current key, naming it by a short fingerprint that is not the key', () => {
    setMasterKeys('key-one-0123456789');
    const sealed = seal('whsec_abc');
    expect(sealed).toMatch(new RegExp(`^sealed:v2:${keyId('key-one-0123456789')}:`));
    expect(keyId('key-one-0123456789')).toMatch(/^[0-9a-f]{8}$/);
    expect(keyId('key-one-0123456789')).not.toBe(keyId('key-two-0123456789'));
    expect(sealedKeyId(sealed)).toBe(currentKeyId());
    expect(sealed).not.toContain('whsec_abc');
    expect(seal('whsec_abc')).not.toBe(sealed); // a fresh IV each time
    expect(unseal(sealed)).toBe('whsec_abc');
    expect(unseal('plain stays plain')).toBe('plain stays plain');
  });

  it('opens values of a previous key and seals them again under the current one', () => {
    setMasterKeys('old-key-0123456789');
    const old = seal('s3cret');
    setMasterKeys('new-key-0123456789', ['old-key-0123456789']);
    expect(unseal(old)).toBe('s3cret');
    const again = reseal(old);
    expect(sealedKeyId(again)).toBe(keyId('new-key-0123456789'));
    expect(reseal(again)).toBe(again); // already under the current key: unchanged
    expect(sealedKeyId(reseal('was plain'))).toBe(keyId('new-key-0123456789'));
    setMasterKeys('new-key-0123456789');
    expect(unseal(again)).toBe('s3cret');
    expect(() => unseal(old)).toThrow(SealError);
    expect(() => unseal(old)).toThrow(/neither RELAY_MASTER_KEY .* nor in RELAY_PREVIOUS_MASTER_KEY/);
  });

  it('reads the first format (no key id) with any key of the ring', () => {
    const v1 = sealV1('old-key-0123456789', 'tpl-password');
    setMasterKeys('new-key-0123456789', ['old-key-0123456789']);
    expect(sealedKeyId(v1)).toBe('v1');
    expect(unseal(v1)).toBe('tpl-password');
    expect(sealedKeyId(reseal(v1))).toBe(keyId('new-key-0123456789'));
    setMasterKeys('another-key-0123456789');
    expect(() => unseal(v1)).toThrow(/RELAY_MASTER_KEY differs/);
  });

  it('without a master key seals nothing and opens nothing, saying which variable to set', () => {
    setMasterKeys('key-one-0123456789');
    const sealed = seal('x');
    setMasterKeys(undefined);
    expect(seal('plain')).toBe('plain');
    expect(() => unseal(sealed)).toThrow(/RELAY_MASTER_KEY is not set/);
  });

  it('RELAY_PREVIOUS_MASTER_KEY is a comma list and needs RELAY_MASTER_KEY', () => {
    expect(loadConfig({ RELAY_MASTER_KEY: 'k', RELAY_PREVIOUS_MASTER_KEY: ' a , b,' }).previousMasterKeys).toEqual(['a', 'b']);
    expect(loadConfig({}).previousMasterKeys).toEqual([]);
    expect(() => loadConfig({ RELAY_PREVIOUS_MASTER_KEY: 'a' })).toThrow(/RELAY_PREVIOUS_MASTER_KEY is set without RELAY_MASTER_KEY/);
  });
});
