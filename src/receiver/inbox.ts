import Database from 'better-sqlite3';
import { decryptBody, type DecryptOptions } from './decrypt.js';
import { ParseError, VerifyError } from './errors.js';
import { parse, type ReceivedEvent } from './parse.js';
import { contentType, bodyText, type ReceivedRequest } from './request.js';
import { verify, type Format, type VerifyOptionsOf } from './verify.js';

/** What to answer: any framework can write it out (see ./adapters.ts). */
export interface InboxResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RetryOptions {
  /** Calls of the handler per event before it is dead-lettered (default 8). */
  maxAttempts?: number;
  /** Wait before the 2nd, 3rd, … call, in ms; the last repeats (default 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h). */
  delaysMs?: readonly number[];
}

export interface InboxOptions<F extends Format = Format> {
  /** The SQLite file (created; WAL). One file may hold several inboxes of different `name`s. */
  file: string;
  format: F;
  /** The format's verification settings (the callback's secret or key); Octopush has none. */
  verify: VerifyOptionsOf[F];
  /** Called once per event, later, outside the request; a throw or rejection is retried. */
  handler: (event: ReceivedEvent, context: { attempt: number }) => unknown;
  /** Rows of this inbox in the file (default: the format's name). */
  name?: string;
  retry?: RetryOptions;
  /** Handler calls at once (default 1: one at a time, due events oldest first). */
  concurrency?: number;
  /** false: store and answer only (another process, opening the same file, handles). Default true. */
  process?: boolean;
  /** Template callbacks: `encryption` of the callback (body JWE decrypted, or values decrypted, before parsing). */
  decrypt?: DecryptOptions & { scope?: 'values' | 'body' };
  /** Octopush and Whispir dates' time zone (the callback's `timezone`). */
  timeZone?: string;
  /** Error output of failing handlers (default: console.error of the first line). */
  onError?: (error: unknown, event: ReceivedEvent, attempt: number) => void;
}

export type InboxState = 'pending' | 'done' | 'dead';

/** One stored event as `list()` shows it. */
export interface InboxEntry {
  key: string;
  state: InboxState;
  attempts: number;
  next_at: number;
  last_error: string | null;
  received_at: number;
  event: ReceivedEvent;
}

const DEFAULT_DELAYS = [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];

const SCHEMA = `
create table if not exists inbox_requests (
  id integer primary key,
  inbox text not null,
  received_at integer not null,
  method text not null,
  url text not null,
  headers text not null,
  body blob not null
);
create table if not exists inbox_events (
  inbox text not null,
  key text not null,
  request_id integer not null references inbox_requests(id),
  event text not null,
  state text not null default 'pending',
  attempts integer not null default 0,
  next_at integer not null,
  last_error text,
  received_at integer not null,
  updated_at integer not null,
  primary key (inbox, key)
);
create index if not exists inbox_events_due on inbox_events (inbox, state, next_at);
`;

const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): InboxResponse => ({ status, headers: body === '' ? {} : { 'content-type': type }, body });
const refusal = (status: number, reason: string, message: string): InboxResponse =>
  ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: reason, message }) });

/**
 * The receiving end the vendors ask for (Octopush: answer within about a second, store, process
 * later): `handle()` verifies a request, stores it and its events in SQLite in one transaction and
 * answers 200 at once; a processor then calls your handler per event, retrying with backoff,
 * dead-lettering after `maxAttempts`, never twice for one event id (`webhook-id` or the format's
 * natural id). Pending events survive a restart: they are handled when the inbox opens again.
 *
 * @example
 * const inbox = openInbox({ file: 'callbacks.db', format: 'standard', verify: { secret: 'whsec_…' },
 *   handler: async (event) => { await orders.markDelivered(event.resource_id) } });
 * http.createServer(nodeHandler(inbox)).listen(3000);
 */
export class Inbox<F extends Format = Format> {
  readonly name: string;
  private readonly db: Database.Database;
  private readonly delays: readonly number[];
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private processing: boolean;
  private closed = false;
  private readonly stmts;

  constructor(private readonly o: InboxOptions<F>) {
    this.name = o.name ?? o.format;
    this.delays = o.retry?.delaysMs ?? DEFAULT_DELAYS;
    this.maxAttempts = o.retry?.maxAttempts ?? 8;
    this.concurrency = o.concurrency ?? 1;
    this.db = new Database(o.file);
    this.db.pragma('journal_mode = WAL');
    // An answered request is on disk: FULL syncs the WAL at each commit.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmts = {
      insertRequest: this.db.prepare('insert into inbox_requests (inbox, received_at, method, url, headers, body) values (?, ?, ?, ?, ?, ?)'),
      insertEvent: this.db.prepare(
        "insert into inbox_events (inbox, key, request_id, event, state, attempts, next_at, received_at, updated_at) values (?, ?, ?, ?, 'pending', 0, ?, ?, ?) on conflict do nothing",
      ),
      exists: this.db.prepare('select 1 from inbox_events where inbox = ? and key = ?'),
      due: this.db.prepare("select key, event, attempts from inbox_events where inbox = ? and state = 'pending' and next_at <= ? order by next_at, rowid limit ?"),
      nextDue: this.db.prepare("select key, next_at from inbox_events where inbox = ? and state = 'pending' order by next_at, rowid limit ?"),
      done: this.db.prepare("update inbox_events set state = 'done', attempts = ?, last_error = null, updated_at = ? where inbox = ? and key = ?"),
      failed: this.db.prepare('update inbox_events set state = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? where inbox = ? and key = ?'),
      revive: this.db.prepare("update inbox_events set state = 'pending', attempts = 0, next_at = ?, updated_at = ? where inbox = ? and key = ? and state = 'dead'"),
      list: this.db.prepare('select key, state, attempts, next_at, last_error, received_at, event from inbox_events where inbox = ? and (? is null or state = ?) order by rowid'),
    };
    this.processing = o.process !== false;
    if (this.processing) this.kick();
  }

  /**
   * Verifies, stores and answers; never waits for the handler. 401 with `{error, message}` when the
   * request does not verify (nothing stored), 400 when its body is not the format's, 503 once closed.
   * HEAD, and requests carrying no event (the relay's URL checks), are answered 200 without storing.
   */
  async handle(req: ReceivedRequest): Promise<InboxResponse> {
    if (this.closed) return refusal(503, 'closed', 'the inbox is closed');
    if (req.method.toUpperCase() === 'HEAD') return text(200, '');
    try {
      verify(this.o.format, req, this.o.verify);
    } catch (err) {
      if (err instanceof VerifyError) return refusal(401, err.reason, err.message);
      throw err;
    }
    let events: ReceivedEvent[];
    try {
      events = parse(this.o.format, await this.plain(req), { ...(this.o.timeZone ? { timeZone: this.o.timeZone } : {}), ...this.valuesOption() });
    } catch (err) {
      if (err instanceof ParseError) return refusal(400, 'malformed', err.message);
      throw err;
    }
    if (events.length > 0) {
      this.store(req, events);
      this.kick();
    }
    // Whispir's check GET expects 200 with a body; the others an empty 200.
    return this.o.format === 'whispir' && req.method.toUpperCase() === 'GET' ? text(200, 'OK') : text(200, '');
  }

  private valuesOption(): { values?: DecryptOptions } {
    const d = this.o.decrypt;
    return d && (d.scope ?? 'values') === 'values' ? { values: d } : {};
  }

  /** A template body encrypted as JWE, decrypted (the relay signs the encrypted body: verify came first). */
  private async plain(req: ReceivedRequest): Promise<ReceivedRequest> {
    if (!this.o.decrypt || contentType(req) !== 'application/jose') return req;
    try {
      const { plaintext, contentType: cty } = await decryptBody(bodyText(req), this.o.decrypt);
      return { ...req, headers: { ...req.headers, 'content-type': cty ?? 'application/json' }, body: plaintext };
    } catch (err) {
      throw new ParseError(`the JWE body does not decrypt with the configured key (${(err as Error).message})`);
    }
  }

  private store(req: ReceivedRequest, events: ReceivedEvent[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      const fresh = events.filter((e) => !this.stmts.exists.get(this.name, e.id));
      if (fresh.length === 0) return;
      const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      const { lastInsertRowid } = this.stmts.insertRequest.run(this.name, now, req.method, req.url, JSON.stringify(req.headers), body);
      for (const e of fresh) this.stmts.insertEvent.run(this.name, e.id, lastInsertRowid, JSON.stringify(e), now, now, now);
    })();
  }

  /** Starts handling stored events (when opened with `process: false`). */
  start(): void {
    if (this.closed || this.processing) return;
    this.processing = true;
    this.kick();
  }

  private kick(): void {
    if (!this.processing || this.closed || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Starts handler calls for due events while there is room, then sleeps until the next one is due. */
  private pump(): void {
    if (!this.processing || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const room = this.concurrency - this.inFlight.size;
    if (room > 0) {
      const rows = this.stmts.due.all(this.name, Date.now(), room + this.inFlight.size) as { key: string; event: string; attempts: number }[];
      for (const row of rows) {
        if (this.inFlight.size >= this.concurrency) break;
        if (this.inFlight.has(row.key)) continue;
        const run = this.run(row.key, JSON.parse(row.event) as ReceivedEvent, row.attempts + 1).finally(() => {
          this.inFlight.delete(row.key);
          this.kick();
        });
        this.inFlight.set(row.key, run);
      }
    }
    if (this.inFlight.size >= this.concurrency) return;
    // The next pending event not under way (those under way kick again when they end).
    const next = (this.stmts.nextDue.all(this.name, this.inFlight.size + 1) as { key: string; next_at: number }[]).find((r) => !this.inFlight.has(r.key));
    if (next) this.timer = setTimeout(() => this.kick(), Math.max(0, next.next_at - Date.now()));
  }

  private async run(key: string, event: ReceivedEvent, attempt: number): Promise<void> {
    try {
      await this.o.handler(event, { attempt });
      this.stmts.done.run(attempt, Date.now(), this.name, key);
    } catch (err) {
      const dead = attempt >= this.maxAttempts;
      const delay = this.delays[Math.min(attempt - 1, this.delays.length - 1)] ?? 0;
      const message = err instanceof Error ? err.message : String(err);
      const now = Date.now();
      this.stmts.failed.run(dead ? 'dead' : 'pending', attempt, now + delay, message.slice(0, 2000), now, this.name, key);
      (this.o.onError ?? ((e: unknown) => console.error(`inbox ${this.name}: handler failed on ${key} (attempt ${attempt}${dead ? ', dead-lettered' : ''}): ${e instanceof Error ? e.message : String(e)}`)))(err, event, attempt);
    }
  }

  /** The stored events, oldest first; `state` filters (e.g. 'dead' for the dead letters). */
  list(state?: InboxState): InboxEntry[] {
    const rows = this.stmts.list.all(this.name, state ?? null, state ?? null) as (Omit<InboxEntry, 'event'> & { event: string })[];
    return rows.map((r) => ({ ...r, event: JSON.parse(r.event) as ReceivedEvent }));
  }

  /** Gives a dead-lettered event its attempts back; true when it was dead. */
  retry(key: string): boolean {
    const now = Date.now();
    const changed = this.stmts.revive.run(now, now, this.name, key).changes > 0;
    if (changed) this.kick();
    return changed;
  }

  /** Stops answering (503) and handling; waits for the handler calls under way; closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
    this.db.close();
  }
}

/** Opens (or creates) an inbox; see Inbox. */
export function openInbox<F extends Format>(options: InboxOptions<F>): Inbox<F> {
  return new Inbox(options);
}
