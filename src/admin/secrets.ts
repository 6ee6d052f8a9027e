import { ConfigError } from '../config.js';
import { currentKeyId, isSealed, reseal, seal, SealError, unseal } from '../lib/seal.js';
import type { Store } from '../store/db.js';
import { sweepSecrets, type SweepResult } from '../store/secrets.js';

/** What a start or a rotation did to the stored secrets. */
export interface SealReport extends SweepResult {
  /** Passes over the tables (a rotation repeats one while rows changed under it). */
  passes: number;
}

const FIX =
  'set RELAY_MASTER_KEY to the key that sealed them (during a rotation: the new key in RELAY_MASTER_KEY, the old one in RELAY_PREVIOUS_MASTER_KEY)';

/** Runs a sweep, turning a secret no key opens into a configuration error that says what to set. */
async function sweep(store: Store, change: (value: string) => string): Promise<SweepResult> {
  try {
    return await sweepSecrets(store, change);
  } catch (err) {
    if (err instanceof SealError) throw new ConfigError(`stored secrets cannot be read: ${err.message}; ${FIX}`);
    throw err;
  }
}

/**
 * At start, with the master key set by lib/seal.ts: every plain secret is sealed (rows stored before
 * the key was set), and every sealed one is opened once, so a missing or wrong key stops the start
 * with a configuration error instead of failing deliveries later. Values sealed under a previous key
 * stay as they are (rotate-master-key seals them again). Without a master key it only checks that
 * nothing is sealed. Idempotent; several processes may run it at once.
 */
export async function sealStoredSecrets(store: Store): Promise<SealReport> {
  const result = await sweep(store, (value) => {
    if (!isSealed(value)) return seal(value);
    unseal(value);
    return value;
  });
  return { ...result, passes: 1 };
}

/**
 * `callback-relay rotate-master-key`: every secret sealed again under RELAY_MASTER_KEY (plain ones
 * sealed, ones under a key of RELAY_PREVIOUS_MASTER_KEY opened and sealed anew). Serving processes
 * keep working throughout when they hold both keys. Rows edited meanwhile are read again, until a
 * pass finds nothing left to do.
 */
export async function rotateMasterKey(store: Store, maxPasses = 10): Promise<SealReport> {
  if (currentKeyId() === null) throw new ConfigError('rotate-master-key seals under RELAY_MASTER_KEY, which is not set: set it to the new key');
  const total: SealReport = { rows: 0, written: 0, skipped: 0, passes: 0 };
  for (;;) {
    const pass = await sweep(store, reseal);
    total.passes += 1;
    total.rows = pass.rows;
    total.written += pass.written;
    total.skipped = pass.skipped;
    if (pass.written + pass.skipped === 0 || total.passes >= maxPasses) return total;
  }
}

