import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: with `RELAY_MASTER_KEY` set, a value is stored as `sealed:v1:` + base64(iv 12 ‖
 * ciphertext ‖ tag 16), AES-256-GCM under a key derived from the master key with HKDF-SHA256.
 * Without a master key values are stored as given (and sealed ones cannot be read).
 * The key is process-wide: it is set once at start-up (runtime.ts), like the config it comes from.
 */
const PREFIX = 'sealed:v1:';
let key: Buffer | null = null;

export function setMasterKey(masterKey: string | undefined): void {
  key = masterKey ? Buffer.from(hkdfSync('sha256', masterKey, 'callback-relay', 'settings seal v1', 32)) : null;
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** Seals `plain` when a master key is set; otherwise returns it unchanged. */
export function seal(plain: string): string {
  if (!key || isSealed(plain)) return plain;
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return PREFIX + Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64');
}

/** The plain value of a stored secret. Throws when it is sealed and the master key is missing or wrong. */
export function unseal(stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!key) throw new Error('a secret is sealed but RELAY_MASTER_KEY is not set');
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    throw new Error('a sealed secret cannot be opened: RELAY_MASTER_KEY differs from the one that sealed it');
  }
}
