import { sql, type DatabaseIntrospector, type DatabaseMetadata, type SchemaMetadata, type TableMetadata } from 'kysely';
import type { Db } from './db.js';

/**
 * `db` as Kysely's migrator sees it, with an introspection that reads one schema's tables only.
 * Kysely's own (PostgreSQL) reads every table of every schema and calls `has_schema_privilege` and
 * `pg_get_serial_sequence` by name on each: slow on a database of many schemas, and failing with
 * "schema … does not exist" when one of them is dropped while it runs (another tenant's, another
 * test's). The migrator only asks whether its schema and its two tables exist.
 */
export function withSchemaIntrospection(db: Db, schema: string): Db {
  const introspection = new SchemaIntrospector(db, schema);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, prop, target);
      // Kysely's methods read private fields: call them on the instance itself, not on the proxy.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

class SchemaIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Db,
    private readonly schema: string,
  ) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const res = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${this.schema}`.execute(this.db);
    return res.rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const res = await sql<{ name: string; is_view: boolean }>`
      select c.relname as name, c.relkind = 'v' as is_view
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${this.schema} and c.relkind in ('r', 'p', 'v')`.execute(this.db);
    return res.rows.map((r) => ({ name: r.name, schema: this.schema, isView: r.is_view, columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}
