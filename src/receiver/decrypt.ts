import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import { compactDecrypt } from 'jose';

/** The ciphers of a template callback's per-value encryption (its `encryption.cipher`). */
export const VALUE_CIPHERS = ['aes-128-gcm', 'aes-192-gcm', 'aes-256-gcm', 'aes-128-cfb', 'aes-192-cfb', 'aes-256-cfb'] as const;
export type ValueCipher = (typeof VALUE_CIPHERS)[number];

export interface DecryptOptions {
  /** The callback's `encryption.key`: bytes, or a string in `keyEncoding`. */
  key: Uint8Array | string;
  /** How a string key is written (the callback's `key_encoding`, default base64). */
  keyEncoding?: 'base64' | 'hex' | 'utf8';
  /** The callback's `encryption.cipher` (default aes-256-gcm); not used for JWE bodies. */
  cipher?: ValueCipher;
}

export function keyBytes(o: Pick<DecryptOptions, 'key' | 'keyEncoding'>): Buffer {
  return typeof o.key === 'string' ? Buffer.from(o.key, o.keyEncoding ?? 'base64') : Buffer.from(o.key);
}

/**
 * One value of a template callback with `encryption.scope: values`: base64 of `iv ‖ ciphertext ‖ tag`
 * (GCM: 12-byte IV, 16-byte tag, no AAD) or `iv ‖ ciphertext` (CFB128: 16-byte IV). Throws when the
 * key is wrong or the value was changed (GCM checks its tag; CFB has none: it yields garbage).
 *
 * @example
 * const to = decryptValue(body.to, { key: process.env.CALLBACK_KEY!, cipher: 'aes-256-gcm' });
 */
export function decryptValue(value: string, o: DecryptOptions): string {
  const cipher = o.cipher ?? 'aes-256-gcm';
  if (!(VALUE_CIPHERS as readonly string[]).includes(cipher)) throw new Error(`unknown cipher ${cipher}`);
  const key = keyBytes(o);
  if (key.length !== Number(cipher.slice(4, 7)) / 8) throw new Error(`${cipher} needs a ${Number(cipher.slice(4, 7)) / 8}-byte key, got ${key.length} bytes`);
  const raw = Buffer.from(value, 'base64');
  if (cipher.endsWith('gcm')) {
    if (raw.length < 28) throw new Error('the value is too short for iv ‖ ciphertext ‖ tag');
    const d = createDecipheriv(cipher, key, raw.subarray(0, 12)) as DecipherGCM;
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  }
  if (raw.length < 16) throw new Error('the value is too short for iv ‖ ciphertext');
  const d = createDecipheriv(cipher, key, raw.subarray(0, 16));
  return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8');
}

/**
 * A template callback's body with `encryption.scope: body`: a compact JWE (`alg: dir`,
 * `enc: A256GCM`, 32-byte key) sent as `application/jose`. Returns the plain body and its content
 * type (the JWE's `cty`, e.g. `application/json`).
 *
 * @example
 * const { plaintext } = await decryptBody(rawBody, { key: process.env.CALLBACK_KEY! });
 * const event = JSON.parse(plaintext);
 */
export async function decryptBody(jwe: string, o: Omit<DecryptOptions, 'cipher'>): Promise<{ plaintext: string; contentType: string | null }> {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe.trim(), new Uint8Array(keyBytes(o)));
  return { plaintext: new TextDecoder().decode(plaintext), contentType: typeof protectedHeader.cty === 'string' ? protectedHeader.cty : null };
}

const JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whichever the input is: a compact JWE body (decryptBody) or one encrypted value (decryptValue). */
export async function decrypt(input: string, o: DecryptOptions): Promise<string> {
  return JWE.test(input.trim()) ? (await decryptBody(input, o)).plaintext : decryptValue(input, o);
}
