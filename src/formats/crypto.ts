import { createCipheriv, randomBytes } from 'node:crypto';

/**
 * Encryption of template callbacks (docs/formats/template.md):
 * - per value: AES-128/192/256 in GCM (default) or CFB (CFB128) mode with the customer's key. Each
 *   substituted value (its UTF-8 text) is encrypted on its own and sent as base64 of
 *   `iv ‖ ciphertext ‖ tag` (GCM: 12-byte IV, 16-byte tag, no AAD) or `iv ‖ ciphertext` (CFB: 16-byte IV).
 * - whole body: compact JWE, `{"alg":"dir","enc":"A256GCM"}`, with the 32-byte key (RFC 7516 §5.1;
 *   built with node:crypto so rendering stays synchronous; any JOSE library decrypts it).
 */
export const CIPHERS = ['aes-128-gcm', 'aes-192-gcm', 'aes-256-gcm', 'aes-128-cfb', 'aes-192-cfb', 'aes-256-cfb'] as const;
export type Cipher = (typeof CIPHERS)[number];

export function keyLength(cipher: Cipher): number {
  return Number(cipher.slice(4, 7)) / 8;
}

export function encryptValue(cipher: Cipher, key: Buffer, plain: string): string {
  const gcm = cipher.endsWith('gcm');
  const iv = randomBytes(gcm ? 12 : 16);
  const c = createCipheriv(cipher, key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat(gcm ? [iv, ct, (c as import('node:crypto').CipherGCM).getAuthTag()] : [iv, ct]).toString('base64');
}

const b64url = (b: Buffer) => b.toString('base64url');

/** Compact JWE of `plain` with `alg: dir`, `enc: A256GCM` and a 32-byte key. */
export function compactJwe(key: Buffer, plain: string, cty?: string): string {
  const header = b64url(Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', ...(cty ? { cty } : {}) })));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(header, 'ascii'));
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `${header}..${b64url(iv)}.${b64url(ct)}.${b64url(c.getAuthTag())}`;
}
