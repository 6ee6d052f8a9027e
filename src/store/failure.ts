import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/** A failure of the database's disk, as an operator should read it. */
export interface DiskFailure {
  /** For people: what happened, e.g. "the database disk is full". */
  message: string;
  /** When a statement last failed so (epoch ms). */
  at: number;
}

/**
 * What a storage error says about the database's disk, in words for the 503's message, the log and
 * /readyz; undefined for other errors. Follows `cause` (errors wrapped on their way up).
 * SQLite reports a full disk (and its own `max_page_count`) as SQLITE_FULL, PostgreSQL as 53100; an
 * I/O error (SQLITE_IOERR_*: a failed fsync, a -shm file that cannot grow) is often a full disk too,
 * but may be a failing one, so it says both.
 */
export function describeDiskFailure(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_FULL' || code === '53100') return 'the database disk is full';
    if ((typeof code === 'string' && code.startsWith('SQLITE_IOERR')) || code === '58030') {
      return 'the database disk failed a read or write (I/O error: is it full or failing?)';
    }
  }
  return undefined;
}

/** How long /readyz reports a disk failure after the last statement that failed so, without a write since. */
export const DISK_FAILURE_MEMORY_MS = 30_000;

/**
 * What the store's statements said about its disk lately: the last disk failure, forgotten once a
 * write commits (space is back) or DISK_FAILURE_MEMORY_MS after it. Reads go on while a disk is
 * full, so a probe that reads (`select 1`) cannot tell; this lets /readyz say it.
 */
export class DiskWatch {
  private last: DiskFailure | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  failed(err: unknown): void {
    const message = describeDiskFailure(err);
    if (message) this.last = { message, at: this.now() };
  }

  wrote(): void {
    this.last = undefined;
  }

  current(): DiskFailure | undefined {
    if (this.last && this.now() - this.last.at > DISK_FAILURE_MEMORY_MS) this.last = undefined;
    return this.last;
  }
}

/**
 * `dialect` with every statement watched (see DiskWatch) and a failed transaction's first error kept.
 * Kysely rolls back a transaction whose callback threw, and when that rollback fails too it throws
 * the rollback's error in place of the first. SQLite ends a transaction itself on some errors
 * (SQLITE_FULL, SQLITE_IOERR, …), so the rollback always failed after them and a full disk surfaced
 * as "cannot rollback - no transaction is active". Here a failed rollback rethrows the statement
 * error that failed the transaction, when there was one.
 */
export function watchDialect(dialect: Dialect, watch: DiskWatch): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => new WatchedDriver(dialect.createDriver(), watch),
  };
}

const CHANGE = /^\s*(insert|update|delete|merge|with)\b/i;

class WatchedConnection implements DatabaseConnection {
  inTransaction = false;
  /** The first statement error of the running transaction. */
  failure: { error: unknown } | undefined;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly watch: DiskWatch,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const result = await this.inner.executeQuery<R>(query);
      // A change outside a transaction is committed: the disk takes writes again. (The statement's
      // text is checked as SQLite reports the last change's count after any statement, a pragma too.)
      if (!this.inTransaction && (result.numAffectedRows ?? 0n) > 0n && CHANGE.test(query.sql)) this.watch.wrote();
      return result;
    } catch (error) {
      if (this.inTransaction) this.failure ??= { error };
      this.watch.failed(error);
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WatchedDriver implements Driver {
  /** One wrapper per connection, made once (SQLite has a single connection; pg's are pooled). */
  private readonly wrappers = new WeakMap<DatabaseConnection, WatchedConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly watch: DiskWatch,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await this.inner.acquireConnection();
    let c = this.wrappers.get(inner);
    if (!c) {
      c = new WatchedConnection(inner, this.watch);
      this.wrappers.set(inner, c);
    }
    return c;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as WatchedConnection;
    await this.inner.beginTransaction(c.inner, settings);
    c.inTransaction = true;
    c.failure = undefined;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    try {
      await this.inner.commitTransaction(c.inner);
    } catch (error) {
      c.failure ??= { error };
      this.watch.failed(error);
      throw error;
    }
    c.inTransaction = false;
    this.watch.wrote();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as WatchedConnection;
    const failure = c.failure;
    c.inTransaction = false;
    c.failure = undefined;
    try {
      await this.inner.rollbackTransaction(c.inner);
    } catch (error) {
      throw failure ? failure.error : error;
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.inner.savepoint!((connection as WatchedConnection).inner, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.inner.rollbackToSavepoint!((connection as WatchedConnection).inner, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.inner.releaseSavepoint!((connection as WatchedConnection).inner, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as WatchedConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
