import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The kit is usable without our server: src/receiver imports only its own files, node: built-ins,
 * jose and better-sqlite3 — never the store, the API, the delivery engine, Fastify, Kysely, pg or config.
 */
describe('receiver kit: stands alone', () => {
  it('imports nothing of the rest of src and no server dependency', () => {
    const root = 'src/receiver';
    const outside: string[] = [];
    for (const file of readdirSync(root).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(root, file), 'utf8');
      for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        const ok = spec.startsWith('node:') || spec === 'jose' || spec === 'better-sqlite3' || (spec.startsWith('./') && !spec.includes('/', 2));
        if (!ok) outside.push(`${file}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
