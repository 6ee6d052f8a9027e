import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { checkpointInBackground } from './checkpoint.js';
import { withSchemaIntrospection } from './introspection.js';
import { DiskWatch, watchDialect, type DiskFailure } from './failure.js';
import { lockSqliteFile } from './lock.js';
import { ListenSession, LockSession, lockScope } from './pg-sessions.js';
import { POSTGRES_CAPABILITIES, SQLITE_CAPABILITIES, type Capabilities } from './capabilities.js';
import { migrations } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** An open database: the Kysely instance, what the backend can do, and backend-specific plumbing. */
export interface Store {
  db: Db;
  caps: Capabilities;
  /** Human-readable location, passwords removed, for logs. */
  describe: string;
  /**
   * Subscribe to a notification channel (LISTEN); a no-op where `caps.listenNotify` is false. A lost
   * connection is re-established in the background, then `onMissed` is called: notifications sent
   * meanwhile were not received.
   */
  listen(channel: string, onMessage: (payload: string) => void, onMissed?: () => void): Promise<() => Promise<void>>;
  /** Notify listeners in other processes (NOTIFY). */
  notify(channel: string, payload?: string): Promise<void>;
  /**
   * True while this process holds the session lock `key` of this store's schema, taking it when it is
   * free; false when another process holds it. Ask again before acting on it: a lock is lost with its
   * session (a database restart), and another process may take it then.
   */
  tryLock(key: number): Promise<boolean>;
  /**
   * Runs `fn` in a transaction whose commit does not wait for the disk: the queue's own bookkeeping
   * (claims, attempt records, leases), where losing the last moments to a power cut only means a
   * delivery is sent again — at-least-once allows that; and writes that can be made again from
   * something already durable (IngestOptions.relaxed). Acknowledged events never use it.
   */
  relaxed<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  /** The PostgreSQL schema the tables live in; undefined on SQLite. */
  currentSchema(): Promise<string | undefined>;
  /** A recent disk failure (full, I/O error) of a statement, with no write committed since (readiness). */
  diskFailure(): DiskFailure | undefined;
  close(): Promise<void>;
}

// int8 (bigint) columns hold epoch milliseconds and serial ids: well inside Number's exact range.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenOptions {
  /**
   * SQLite: copy the write-ahead log into the database file in a thread of its own rather than in
   * commits (see checkpointInBackground), logging a failure of that thread here. For the serving
   * process; short-lived ones (migrate, tests of the store) leave it to SQLite.
   */
  checkpointThread?: { log: Logger };
  /**
   * SQLite: hold the database for this process alone while the store is open, and refuse it
   * (DatabaseInUseError) when another process does (see lockSqliteFile). For `serve` and `migrate`;
   * PostgreSQL is shared by design and ignores it.
   */
  exclusive?: boolean;
  /** PostgreSQL: where lost connections are reported. */
  log?: Logger;
  /** PostgreSQL: the connections' application_name, seen in pg_stat_activity (the URL's own wins). */
  applicationName?: string;
}

export async function openStore(url: string, opts: OpenOptions = {}): Promise<Store> {
  return url.startsWith('sqlite:') ? openSqlite(url.slice('sqlite:'.length), opts) : openPostgres(url, opts);
}

function openSqlite(path: string, opts: OpenOptions): Store {
  const file = path === ':memory:' || path === '' ? ':memory:' : resolve(path);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const unlock = file !== ':memory:' && opts.exclusive ? lockSqliteFile(file) : undefined;
  let database: SqliteDatabase.Database;
  try {
    database = new SqliteDatabase(file);
    // The first read of the file: where one that is no database fails.
    database.pragma('journal_mode = WAL');
  } catch (err) {
    unlock?.();
    throw err;
  }
  // FULL: a committed (acknowledged) transaction survives power loss, not only a killed process.
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('cache_size = -16384');
  database.pragma('temp_store = MEMORY');
  cacheStatements(database);
  const stopCheckpoints = file !== ':memory:' && opts.checkpointThread ? checkpointInBackground(database, file, opts.checkpointThread.log) : undefined;
  const disk = new DiskWatch();
  const db = new Kysely<Database>({ dialect: watchDialect(new SqliteDialect({ database }), disk) });
  return {
    db,
    caps: SQLITE_CAPABILITIES,
    describe: `sqlite:${file}`,
    listen: async () => async () => {},
    notify: async () => {},
    // One process owns an SQLite file, so its scheduler is always the only one.
    tryLock: async () => true,
    // The safety level can only change outside a transaction; the one connection is held throughout,
    // so no other statement runs at the relaxed level.
    relaxed: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`pragma synchronous = NORMAL`.execute(conn);
        try {
          return await conn.transaction().execute(fn);
        } finally {
          await sql`pragma synchronous = FULL`.execute(conn);
        }
      }),
    currentSchema: async () => undefined,
    diskFailure: () => disk.current(),
    close: async () => {
      await stopCheckpoints?.();
      await db.destroy();
      unlock?.();
    },
  };
}

/**
 * Kysely prepares every statement it runs; on the hot paths the same few texts repeat thousands of
 * times a second, so keep their prepared forms (better-sqlite3 statements are reusable).
 */
function cacheStatements(database: SqliteDatabase.Database, max = 1000): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, SqliteDatabase.Statement>();
  database.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    return stmt;
  }) as typeof database.prepare;
}

function openPostgres(url: string, opts: OpenOptions): Store {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`DATABASE_URL schema must be a lower-case identifier, got "${schema}"`);
  }
  const connectionString = parsed.toString();
  const options = schema ? `-c search_path=${schema}` : undefined;
  const appName = (opts.applicationName ?? `callback-relay ${process.pid}`).slice(0, 50);
  // Keep-alive: a connection whose peer vanished (no reset) is noticed by the OS, not only by a query.
  const client = (role?: string): pg.ClientConfig => ({
    connectionString,
    options,
    application_name: role ? `${appName} (${role})` : appName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  const pool = new pg.Pool({ ...client(), max: 10 });
  pool.on('error', () => {
    // An idle client lost its connection (reported below); the pool replaces it.
  });
  pool.on('connect', (c) => {
    // A client in use has no listener of the pool's: without one, its connection's end (a restart, a
    // terminated backend) is an unhandled 'error' that kills the process. The query in flight fails
    // by itself, and the pool drops the client when it is released.
    c.on('error', (err) => opts.log?.warn({ err }, 'a pooled PostgreSQL connection was lost; it is replaced'));
  });
  const disk = new DiskWatch();
  const db = new Kysely<Database>({
    dialect: watchDialect(new PostgresDialect({
      pool: async () => {
        if (schema) {
          const c = new pg.Client(client());
          c.on('error', () => {}); // its errors reject the calls below
          await c.connect();
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await c.end();
        }
        return pool;
      },
    }), disk),
  });
  const listener = new ListenSession(client('listen'), opts.log);
  const locks = new LockSession(client('locks'), opts.log);
  let scope: number | undefined;
  const currentSchema = async () => {
    if (schema) return schema;
    const res = await sql<{ s: string | null }>`select current_schema() as s`.execute(db);
    return res.rows[0]?.s ?? undefined;
  };
  parsed.password = '';
  return {
    db,
    caps: POSTGRES_CAPABILITIES,
    describe: `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ''}${parsed.host}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`,
    listen: (channel, onMessage, onMissed) => listener.listen(channel, onMessage, onMissed),
    async notify(channel, payload = '') {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
    async tryLock(key) {
      // Locks are per schema: relays on two schemas of one database each have their own.
      scope ??= lockScope((await currentSchema()) ?? '');
      return locks.tryLock(key, scope);
    },
    relaxed: (fn) =>
      db.transaction().execute(async (trx) => {
        await sql`set local synchronous_commit = off`.execute(trx);
        return fn(trx);
      }),
    currentSchema,
    diskFailure: () => disk.current(),
    async close() {
      await locks.close();
      await listener.close();
      await db.destroy();
    },
  };
}

/** Resolves when the database answers a trivial query (readiness). */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

export class SchemaTooNewError extends Error {}

/**
 * Kysely's migrator over this code's migrations. Kysely looks for its migration table in every schema
 * of the database: name ours, or another schema's table (another tenant, a test run) is taken for it;
 * and let it read that schema alone (withSchemaIntrospection).
 */
export async function migratorFor(store: Store): Promise<Migrator> {
  const migrationTableSchema = await store.currentSchema();
  const provider = { getMigrations: async () => migrations(store.caps) };
  return new Migrator(
    migrationTableSchema
      ? { db: withSchemaIntrospection(store.db, migrationTableSchema), provider, migrationTableSchema }
      : { db: store.db, provider },
  );
}

/** The migrations this code has that the database has not had yet. */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const migrator = await migratorFor(store);
  return (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** Brings the schema up to date; refuses a database migrated by a newer version of callback-relay. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = await migratorFor(store);
  const known = new Set(Object.keys(migrations(store.caps)));
  const applied = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined).map((m) => m.name);
  // getMigrations lists only the migrations the code knows; read the table for the others.
  const inDb = await sql<{ name: string }>`select name from kysely_migration`
    .execute(store.db)
    .then((r) => r.rows.map((row) => row.name))
    .catch(() => applied);
  const unknown = inDb.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the database was migrated by a newer callback-relay (migrations ${unknown.join(', ')} are unknown here); run that version or newer`,
    );
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
