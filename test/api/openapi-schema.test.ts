import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, openApiDocument, schemaTypes } from '../../scripts/openapi.js';

describe('the dashboard API client types', () => {
  it('web/src/api/schema.d.ts is what `npm run gen:api` makes of the current OpenAPI document', async () => {
    const fresh = await schemaTypes(await openApiDocument());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    // A failure here means an API route changed: run `npm run gen:api` and commit the file.
    expect(committed === fresh, `${SCHEMA_FILE} is stale: run \`npm run gen:api\``).toBe(true);
  });
});
