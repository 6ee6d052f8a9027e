/**
 * What the storage backend can do, resolved once at start-up. Business code asks these questions,
 * never "is this SQLite?".
 */
export interface Capabilities {
  /** Claims can skip rows another worker has locked (FOR UPDATE SKIP LOCKED): many workers. */
  skipLocked: boolean;
  /** Workers in other processes can be woken by LISTEN/NOTIFY. */
  listenNotify: boolean;
  /** Session advisory locks exist, so one scheduler can run among many processes. */
  advisoryLocks: boolean;
  /** Several processes may share the database. */
  multiProcess: boolean;
  /** Bound parameters one statement may carry. */
  maxParameters: number;
  /** A bound parameter may be an array (`id = any($1)`), and a JSON one read as rows (bulk inserts through `json_to_recordset`). */
  arrayParameters: boolean;
  /** Column type of an auto-incrementing primary key. */
  serialPrimaryKey: 'integer' | 'bigserial';
  /** A table can keep room in its pages for updated rows (`fillfactor`). */
  fillFactor: boolean;
}

export const SQLITE_CAPABILITIES: Capabilities = {
  skipLocked: false,
  listenNotify: false,
  advisoryLocks: false,
  multiProcess: false,
  maxParameters: 32_766,
  arrayParameters: false,
  serialPrimaryKey: 'integer',
  fillFactor: false,
};

export const POSTGRES_CAPABILITIES: Capabilities = {
  skipLocked: true,
  listenNotify: true,
  advisoryLocks: true,
  multiProcess: true,
  maxParameters: 65_535,
  arrayParameters: true,
  serialPrimaryKey: 'bigserial',
  fillFactor: true,
};
