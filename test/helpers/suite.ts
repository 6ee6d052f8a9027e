import { afterAll, beforeAll } from 'vitest';
import type { Backend } from './backends.js';
import { TestReceiver } from './receiver.js';
import { startTestRelay, type TestRelay } from './relay.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';

/**
 * The usual frame of an end-to-end suite: one relay on a fresh database of `backend` for the file,
 * receivers made on demand, and a tenant per test so routing never crosses tests. Everything is
 * closed after the suite, receivers first (one may hold requests open, which the relay would wait for).
 */
export function useRelaySuite(
  backend: Backend,
  overrides: Parameters<typeof startTestRelay>[1],
  onStart: (t: TestRelay) => void,
): { newReceiver: () => Promise<TestReceiver>; tenant: (name: string) => Promise<string> } {
  let t: TestRelay | undefined;
  let drop: (() => Promise<void>) | undefined;
  const receivers: TestReceiver[] = [];
  beforeAll(async () => {
    const db = await backend.create();
    drop = db.drop;
    t = await startTestRelay(db.url, overrides);
    onStart(t);
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await t?.close();
    await drop?.();
  });
  return {
    async newReceiver() {
      const r = await new TestReceiver().start();
      receivers.push(r);
      return r;
    },
    async tenant(name: string) {
      return (await t!.newTenant(`${name}-${backend.name}`)).auth;
    },
  };
}

/**
 * The frame of a store suite: a store on a fresh database of `backend` for the file, handed to
 * `onOpen` once `prepare` has brought its schema where the suite wants it (default: up to date);
 * closed and its database dropped after the suite.
 */
export function useStore(
  backend: Backend,
  onOpen: (store: Store) => void,
  prepare: (store: Store) => Promise<unknown> = migrateToLatest,
): void {
  let store: Store | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await backend.create();
    drop = created.drop;
    store = await openStore(created.url);
    await prepare(store);
    onOpen(store);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });
}
