import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Asked once per test file: is the PostgreSQL server of these machines reachable? */
async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const pgUp = await postgresReachable();
if (!pgUp) {
  console.warn(`PostgreSQL is not reachable at ${PG_URL}: the PostgreSQL runs of the integration suites are SKIPPED`);
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  available: boolean;
  /** A fresh, empty database for one test file (or one test); `drop` removes it. */
  create(): Promise<{ url: string; drop: () => Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    available: true,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'relay-test-'));
      return { url: `sqlite:${join(dir, 'relay.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    available: pgUp,
    async create() {
      const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      return {
        url: `${PG_URL}?schema=${schema}`,
        drop: async () => {
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          await client.query(`drop schema if exists ${schema} cascade`);
          await client.end();
        },
      };
    },
  },
];
