/**
 * The bench's webhook receiver, run as a child process (`fork`) so that its CPU is not the bench's.
 *
 *   node dist/bench/receiver.js --mode ok|blackhole [--ports N]
 *
 * `ok` answers 200 with an empty body at once; `blackhole` accepts the request and never answers.
 * Listens on N ports of 127.0.0.1 (several ports let several callbacks look like several hosts).
 * Counts requests; reports to the parent over IPC only when asked (see protocol.ts), so the hot path
 * is a counter, a Set lookup and, in latency mode only, a JSON.parse.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { ParentMessage, ReceiverMessage, ReceiverMode, ReceiverStats } from './protocol.js';

const { values } = parseArgs({
  options: { mode: { type: 'string', default: 'ok' }, ports: { type: 'string', default: '1' } },
});
const mode: ReceiverMode = values.mode === 'blackhole' ? 'blackhole' : 'ok';
const portCount = Math.min(Math.max(Number(values.ports) || 1, 1), 64);

const send = (msg: ReceiverMessage): void => {
  if (process.send) process.send(msg);
};
// The bench owns us: when it goes away (even by SIGKILL) the IPC channel closes and we follow.
process.on('disconnect', () => process.exit(0));
if (!process.send) {
  console.error('receiver.ts must be started by bench.js with an IPC channel (child_process.fork)');
  process.exit(2);
}

const SAMPLE_CAP = 1_000_000;
/** `marks[k]` is when the ((k + 1) × MARK_EVERY)-th distinct request arrived. */
const MARK_EVERY = 1_000;
const now = (): number => performance.timeOrigin + performance.now();

let trackDistinct = true;
let latencyMode = false;
let requests = 0;
let distinct = 0;
let missingId = 0;
let perServer: number[] = new Array<number>(portCount).fill(0);
let firstAt: number | null = null;
let lastAt: number | null = null;
let marks: number[] = [];
let seen = new Set<string>();
let samples: number[] = [];
let badBodies = 0;

function reset(distinctOn: boolean, latencyOn: boolean): void {
  trackDistinct = distinctOn;
  latencyMode = latencyOn;
  requests = distinct = missingId = badBodies = 0;
  perServer = new Array<number>(portCount).fill(0);
  firstAt = lastAt = null;
  marks = [];
  seen = new Set<string>();
  samples = [];
}

function stats(): ReceiverStats {
  return { requests, distinct, missingId, perServer, firstAt, lastAt, marks, markEvery: MARK_EVERY, samples: samples.length, badBodies };
}

/** Counts the request; returns true the first time this delivery is seen. */
function count(index: number, req: IncomingMessage, at: number): boolean {
  requests++;
  perServer[index] = (perServer[index] ?? 0) + 1;
  let fresh = true;
  if (trackDistinct) {
    const id = req.headers['webhook-id'];
    if (typeof id === 'string') {
      const key = `${index}|${req.url ?? ''}|${id}`;
      if (seen.has(key)) fresh = false;
      else seen.add(key);
    } else {
      missingId++;
    }
  }
  if (fresh) {
    distinct++;
    if (firstAt === null) firstAt = at;
    lastAt = at;
    if (distinct % MARK_EVERY === 0) marks.push(at);
  }
  return fresh;
}

function readSentAt(req: IncomingMessage, arrivedAt: number): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { sent_at?: unknown } };
      const sentAt = body.data?.sent_at;
      if (typeof sentAt === 'number' && samples.length < SAMPLE_CAP) samples.push(arrivedAt - sentAt);
      else badBodies++;
    } catch {
      badBodies++;
    }
  });
}

function handler(index: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const at = now();
    const fresh = count(index, req, at);
    if (mode === 'blackhole') {
      req.resume();
      return; // never answer; the relay's response timeout has to deal with it
    }
    if (latencyMode && fresh) readSentAt(req, at);
    else req.resume();
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  };
}

process.on('message', (raw: unknown) => {
  const msg = raw as ParentMessage;
  switch (msg.cmd) {
    case 'stats':
      send({ type: 'reply', seq: msg.seq, stats: stats() });
      break;
    case 'reset':
      reset(msg.distinct, msg.latency);
      send({ type: 'reply', seq: msg.seq, stats: stats() });
      break;
    case 'samples':
      send({ type: 'reply', seq: msg.seq, stats: stats(), samples });
      break;
  }
});

const ports: number[] = [];
for (let i = 0; i < portCount; i++) {
  const server = createServer({ keepAlive: true }, handler(i));
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // blackhole requests must stay open until the client gives up
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  ports.push((server.address() as AddressInfo).port);
}
send({ type: 'ready', ports });
