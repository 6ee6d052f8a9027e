import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A time-ordered, URL-safe identifier with a type prefix, e.g. `evt_01jd4x…`.
 * 10 characters of millisecond time then 16 of randomness (80 bits), so ids sort by creation time.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomSlice(10);
  let rand = '';
  // 80 bits -> 16 base32 characters, 5 bits each.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
  }
  return `${prefix}_${time}${rand}`;
}

// Ids are made by the thousand per second: draw their randomness from a pool, not a call each.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

function randomSlice(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

/** A random token of `bytes` bytes, base64url-encoded: API keys, nonces. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
