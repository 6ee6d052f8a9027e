import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, deliveriesOf, postEvent, waitUntil, type DeliveryJson } from '../helpers/e2e.js';
import { exited } from '../helpers/processes.js';

/**
 * The runnable examples of docs/receiver.md, run as a customer would: `node examples/receiver/…`
 * importing `callback-relay/receiver` (the package's export, built into dist/), called by a real relay.
 */
const ENTRY = resolve('dist/src/receiver/index.js');
const dir = mkdtempSync(join(tmpdir(), 'receiver-examples-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGKILL');
    await exited(c);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Starts an example; resolves with its URL once it says where it listens. */
async function startExample(file: string, secret: string): Promise<{ url: string; output: () => string; child: ChildProcess }> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (npm test builds before running vitest)`);
  const child = spawn(process.execPath, [resolve('examples/receiver', file)], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', CALLBACK_SECRET: secret, INBOX_FILE: join(dir, `${file}.db`) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await waitUntil(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], { what: `${file} to listen; output: ${out}` });
  return { url, output: () => out, child };
}

describe('receiver kit: the runnable examples', () => {
  let t!: TestRelay;
  const { tenant } = useRelaySuite(BACKENDS[0]!, {}, (relay) => {
    t = relay;
  });

  for (const [file, path] of [
    ['node-http.mjs', '/'],
    ['express.mjs', '/callbacks'],
    ['fastify.mjs', '/callbacks'],
  ] as const) {
    it(`${file}: verifies, answers 200 and handles the relay's callback; refuses one signed with another secret`, async () => {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const example = await startExample(file, secret);
      const auth = await tenant(file);
      const cb = await createCallback(t, { title: file.replace('.mjs', ''), url: `${example.url}${path}`, secret }, auth);
      // The relay's URL check (HEAD) finds it available.
      const refresh = await t.api('POST', `/v1/callbacks/${cb.id}/refresh`, {}, { auth });
      expect(refresh.body).toMatchObject({ status: 'available' });

      // A second callback to the same receiver, signed with another secret: refused, never handled.
      const forged = await createCallback(t, { title: `${file.replace('.mjs', '')} forged`, url: `${example.url}${path}`, secret: `whsec_${randomBytes(32).toString('base64')}` }, auth);

      const id = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'ex-1', to: '+33600000001' } }, auth);
      const final = (d: DeliveryJson) => d.state === 'delivered' || d.state === 'failed';
      const ds = await waitUntil(async () => {
        const list = await deliveriesOf(t, id, auth);
        return list.length === 2 && list.every(final) ? list : undefined;
      }, { what: 'both deliveries final' });
      expect(ds.find((d) => d.callback_id === cb.id)).toMatchObject({ state: 'delivered', last_status: 200 });
      expect(ds.find((d) => d.callback_id === forged.id)).toMatchObject({ state: 'failed', last_status: 401 });
      await waitUntil(() => example.output().includes(`"handled":"${id}"`), { what: `${file} to handle ${id}` });
      const lines = example.output().split('\n').filter((l) => l.includes(`"handled":"${id}"`));
      expect(lines.map((l) => JSON.parse(l))).toEqual([{ handled: id, type: 'sms.delivered', data: { message_id: 'ex-1', to: '+33600000001' } }]);

      example.child.kill('SIGTERM');
      await exited(example.child);
      expect(example.child.exitCode).toBe(0);
    });
  }
});
