import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The two PostgreSQL connections a relay holds outside its pool: LISTEN needs a connection of its
 * own for as long as it listens, and a session advisory lock lives exactly as long as the session
 * that took it. Both outlive any one connection: a server restart or a terminated backend ends them,
 * and the relay goes on.
 */

/** First wait before reconnecting, doubled after each failure up to RECONNECT_MAX_MS. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** The wait before reconnect attempt `n` (0-based): doubling from 100 ms to 5 s, ±20 % so a fleet does not reconnect in step. */
export function reconnectDelay(n: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** Math.min(n, 16));
  return Math.round(base * (0.8 + 0.4 * random()));
}

interface Subscriber {
  onMessage: (payload: string) => void;
  onMissed: (() => void) | undefined;
}

/**
 * LISTEN on one connection that comes back: when it is lost, it reconnects with backoff, listens to
 * every channel again, then tells each subscriber that notifications may have been missed meanwhile.
 */
export class ListenSession {
  private client: pg.Client | undefined;
  /** Channels LISTENed on `client` (LISTEN is idempotent: listening twice is harmless). */
  private listening = new Set<string>();
  private readonly channels = new Map<string, Set<Subscriber>>();
  private first: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: Logger | undefined,
  ) {}

  async listen(channel: string, onMessage: (payload: string) => void, onMissed?: () => void): Promise<() => Promise<void>> {
    const subscriber: Subscriber = { onMessage, onMissed };
    let set = this.channels.get(channel);
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(subscriber);
    try {
      // The first connection fails loudly (start-up); later losses are repaired in the background.
      this.first ??= this.connect().catch((err: unknown) => {
        this.first = undefined;
        throw err;
      });
      await this.first;
      await this.listenAll();
    } catch (err) {
      set.delete(subscriber);
      throw err;
    }
    return async () => {
      set.delete(subscriber);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    // Every error of this connection ends it: 'error' (FATAL from the server, a reset socket) or
    // 'end' (closed without one), whichever comes first.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (msg) => {
      for (const s of this.channels.get(msg.channel) ?? []) s.onMessage(msg.payload ?? '');
    });
    try {
      await client.connect();
      this.client = client;
      this.listening = new Set();
      await this.listenAll();
    } catch (err) {
      if (this.client === client) this.client = undefined;
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) await this.close();
  }

  /** LISTENs every channel with a subscriber that the current connection does not listen to yet. */
  private async listenAll(): Promise<void> {
    const client = this.client;
    if (!client) return; // reconnecting: the new connection listens to every channel
    for (const channel of this.channels.keys()) {
      if (this.listening.has(channel)) continue;
      try {
        await client.query(`LISTEN ${pg.Client.prototype.escapeIdentifier(channel)}`);
      } catch (err) {
        // LISTEN fails only with its connection: start over on a new one.
        this.lost(client, err as Error);
        return;
      }
      if (this.client === client) this.listening.add(channel);
    }
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    this.log?.warn({ err }, 'the LISTEN connection to PostgreSQL was lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelay(this.failures);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        () => {
          if (this.closed) return;
          this.log?.info({ attempts: this.failures + 1 }, 'the LISTEN connection to PostgreSQL is back');
          this.failures = 0;
          // Whatever was notified while no connection listened is lost: let each subscriber catch up.
          for (const set of this.channels.values()) for (const s of set) s.onMissed?.();
        },
        (err: unknown) => {
          if (this.closed) return;
          this.failures++;
          this.log?.warn({ err, attempt: this.failures }, 'reconnecting LISTEN to PostgreSQL failed; retrying');
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.retry.unref();
  }
}

/**
 * 32-bit FNV-1a of `text` as a signed int4: the second key of a schema's advisory locks, so relays
 * on two schemas of one database never contend for one lock.
 */
export function lockScope(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Session advisory locks on a connection of their own. A lock is held while its session lives, so
 * `tryLock` answers true for a lock already taken only after a round trip proves the session still
 * lives; when the session ends (restart, terminated backend, lost network) its locks are forgotten
 * here at once and must be taken again — another process may have taken them meanwhile.
 */
export class LockSession {
  private client: pg.Client | undefined;
  private readonly held = new Set<string>();
  /** One request at a time: a lock taken twice on one session would need two unlocks. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: Logger | undefined,
  ) {}

  /** True when this session holds the advisory lock (key, scope), taking it if it is free. */
  tryLock(key: number, scope: number): Promise<boolean> {
    const run = this.queue.then(() => this.tryLockNow(key, scope));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const client = this.client;
    this.client = undefined;
    this.held.clear();
    if (client) await client.end().catch(() => {});
  }

  private async tryLockNow(key: number, scope: number): Promise<boolean> {
    if (this.closed) return false;
    const id = `${key}:${scope}`;
    const client = this.client ?? (await this.connect());
    if (this.held.has(id)) {
      // Still ours exactly as long as the session lives: prove it does.
      await client.query('select 1');
      return this.client === client;
    }
    const res = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [key, scope]);
    const ok = res.rows[0]?.ok === true && this.client === client;
    if (ok) this.held.add(id);
    return ok;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    const locks = this.held.size;
    this.held.clear();
    client.end().catch(() => {});
    if (!this.closed && locks > 0) this.log?.warn({ err, locks }, 'the PostgreSQL session holding advisory locks ended: they are released');
  }
}
