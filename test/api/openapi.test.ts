import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, tenant, useRelay } from './support.js';

const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
/** Operations anyone may call: sign-in (health and metrics are not in the document). */
const PUBLIC = new Set(['POST /v1/sessions']);

describe('the OpenAPI document at /docs/json', () => {
  const h = useRelay(sqlite);

  it('has servers, and every operation a unique camelCase operationId, its 4xx answers as ErrorBody, and a description for each answer', async () => {
    const r = await h.t.api('GET', '/docs/json', undefined, { auth: '' });
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.servers).toEqual([{ url: '/' }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['basic', 'session']);

    const seen = new Map<string, string>();
    const ops: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        const key = `${method.toUpperCase()} ${path}`;
        ops.push(key);
        expect(op.operationId, key).toMatch(/^[a-z][A-Za-z0-9]*$/);
        expect(seen.get(op.operationId), `${op.operationId} of ${key}`).toBeUndefined();
        seen.set(op.operationId, key);
        const codes = Object.keys(op.responses ?? {});
        expect(codes.some((c) => /^2/.test(c)) || codes.includes('default'), `${key} has a success answer`).toBe(true);
        if (!PUBLIC.has(key)) expect(codes, `${key} answers 401`).toContain('401');
        if (path.includes('{')) expect(codes, `${key} answers 404`).toContain('404');
        if (op.requestBody || (op.parameters ?? []).some((p: any) => p.in === 'query')) expect(codes, `${key} answers 422`).toContain('422');
        for (const [code, res] of Object.entries<any>(op.responses)) {
          expect(typeof res.description, `${key} ${code} description`).toBe('string');
          if (/^4/.test(code)) {
            const schema = res.content?.['application/json']?.schema;
            expect(schema?.required, `${key} ${code} is an ErrorBody`).toEqual(['code', 'message']);
          }
        }
      }
    }
    // The operations the dashboard calls, by the names its generated client uses.
    for (const [id, key] of [
      ['createSession', 'POST /v1/sessions'],
      ['getCurrentSession', 'GET /v1/sessions/current'],
      ['deleteCurrentSession', 'DELETE /v1/sessions/current'],
      ['listCallbacks', 'GET /v1/callbacks'],
      ['createCallback', 'POST /v1/callbacks'],
      ['getCallback', 'GET /v1/callbacks/{id}'],
      ['updateCallback', 'PATCH /v1/callbacks/{id}'],
      ['deleteCallback', 'DELETE /v1/callbacks/{id}'],
      ['getCallbackStats', 'GET /v1/callbacks/{id}/stats'],
      ['listEvents', 'GET /v1/events'],
      ['listDeliveries', 'GET /v1/deliveries'],
      ['retryFailedDeliveries', 'POST /v1/deliveries/retry'],
      ['getAccountStats', 'GET /v1/stats'],
      ['listApiUsers', 'GET /v1/api-users'],
      ['revokeApiUser', 'DELETE /v1/api-users/{name}'],
    ]) {
      expect(seen.get(id!), id).toBe(key);
    }
    expect(ops.length).toBeGreaterThan(50);
    // 409 where a resource's state can refuse.
    expect(Object.keys(doc.paths['/v1/api-users/{name}'].delete.responses)).toContain('409');
    expect(Object.keys(doc.paths['/v1/deliveries/{id}/retry'].post.responses)).toContain('409');
  });
});

describe('errors that name allowed values list them', () => {
  const h = useRelay(sqlite);

  it('a query value outside a list, and a body value outside a list', async () => {
    const { t } = h;
    const me = await tenant(t, 'oa-values');
    const state = await t.api('GET', '/v1/deliveries?state=lost', undefined, { auth: me.auth });
    expectError(state, 422, 'invalid', 'querystring.state');
    expect(state.body.message).toBe('querystring.state: must be one of pending, delivered, failed, held');
    const win = await t.api('GET', '/v1/callbacks/cb_x/stats?window=30d', undefined, { auth: me.auth });
    expectError(win, 422, 'invalid', 'querystring.window');
    expect(win.body.message).toBe('querystring.window: must be one of 24h, 7d');
    const format = await t.api('POST', '/v1/callbacks', { title: 'x', url: 'http://127.0.0.1:9/', format: 'nope' }, { auth: me.auth });
    expectError(format, 422, 'invalid', 'format');
    expect(format.body.message).toMatch(/^format: must be one of standard, engagelab, engagelab-email, octopush, whispir, template\b/);
    // A type error stays a type error.
    expect((await t.api('GET', '/v1/callbacks?enabled=maybe', undefined, { auth: me.auth })).body.message).toBe('querystring.enabled: must be boolean');
  });
});
