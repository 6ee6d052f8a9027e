import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Memo } from './memo.js';

/**
 * Secrets at rest: with `RELAY_MASTER_KEY` set, a value is stored as `sealed:v2:<key id>:` +
 * base64(iv 12 ‖ ciphertext ‖ tag 16), AES-256-GCM under a key derived from the master key with
 * HKDF-SHA256. The key id is a short fingerprint of the master key, so a value names the key that
 * opens it: during a rotation the ring holds the new key (seals) and the previous ones (open only).
 * Values of the first format, `sealed:v1:` (no key id), are still read: every key of the ring is tried.
 * Without a master key values are stored as given (and sealed ones cannot be read).
 * The ring is process-wide: it is set once at start-up (runtime.ts), like the config it comes from.
 */
const PREFIX = 'sealed:';
const V1 = 'sealed:v1:';
const V2 = 'sealed:v2:';

/** A sealed value that no key of the ring opens. */
export class SealError extends Error {}

interface RingKey {
  id: string;
  key: Buffer;
}

let current: RingKey | null = null;
let ring: RingKey[] = [];
// Opening is deterministic per stored value; callers (the registry's reloads, API reads) open the
// same values again and again.
let opened = new Memo<string, string>(100_000);

/** The short fingerprint of a master key that sealed values carry (8 hex digits; not the key). */
export function keyId(masterKey: string): string {
  return Buffer.from(hkdfSync('sha256', masterKey, 'callback-relay', 'seal key id', 4)).toString('hex');
}

function ringKey(masterKey: string): RingKey {
  return { id: keyId(masterKey), key: Buffer.from(hkdfSync('sha256', masterKey, 'callback-relay', 'settings seal v1', 32)) };
}

/**
 * Sets the key that seals (`masterKey`, RELAY_MASTER_KEY) and the ones that only open
 * (`previous`, RELAY_PREVIOUS_MASTER_KEY). No master key: nothing is sealed, nothing sealed opens.
 */
export function setMasterKeys(masterKey: string | undefined, previous: readonly string[] = []): void {
  current = masterKey ? ringKey(masterKey) : null;
  ring = current ? [current, ...previous.filter((k) => k && k !== masterKey).map(ringKey)] : [];
  opened = new Memo<string, string>(100_000);
}

/** The id of the key that seals now; null without a master key. */
export function currentKeyId(): string | null {
  return current?.id ?? null;
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The id of the key a sealed value names: null for a plain value, 'v1' for the first format (none named). */
export function sealedKeyId(stored: string): string | null {
  if (stored.startsWith(V2)) return stored.slice(V2.length, stored.indexOf(':', V2.length));
  return isSealed(stored) ? 'v1' : null;
}

/**
 * Seals `plain` when a master key is set, whatever it looks like (a value given as "sealed:…" opens
 * back to itself); otherwise returns it unchanged.
 */
export function seal(plain: string): string {
  if (!current) return plain;
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', current.key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `${V2}${current.id}:${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64')}`;
}

/** `stored` sealed under the current key: a plain value is sealed, another key's is opened and sealed again. */
export function reseal(stored: string): string {
  if (!current || sealedKeyId(stored) === current.id) return stored;
  return seal(unseal(stored));
}

/**
 * The plain value of a stored secret. Throws (naming RELAY_MASTER_KEY) when it is sealed and no key
 * of the ring opens it.
 */
export function unseal(stored: string): string {
  if (!isSealed(stored)) return stored;
  return opened.get(stored, open);
}

function open(stored: string): string {
  if (!current) throw new SealError('a secret is sealed but RELAY_MASTER_KEY is not set');
  if (stored.startsWith(V2)) {
    const id = sealedKeyId(stored)!;
    const k = ring.find((r) => r.id === id);
    if (!k) throw new SealError(`a secret is sealed with key ${id}, which is neither RELAY_MASTER_KEY (${current.id}) nor in RELAY_PREVIOUS_MASTER_KEY`);
    const plain = decrypt(k.key, stored.slice(V2.length + id.length + 1));
    if (plain === null) throw new SealError(`a secret sealed with key ${id} cannot be opened: it is damaged`);
    return plain;
  }
  if (stored.startsWith(V1)) {
    for (const k of ring) {
      const plain = decrypt(k.key, stored.slice(V1.length));
      if (plain !== null) return plain;
    }
  }
  throw new SealError('a sealed secret cannot be opened: RELAY_MASTER_KEY differs from the one that sealed it');
}

function decrypt(key: Buffer, b64: string): string | null {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length < 28) return null;
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}
