import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** What the receiver answers; the default is 200 with an empty body. */
export type Behaviour = (req: Received, res: ServerResponse, index: number) => void;

/**
 * A real HTTP receiver on 127.0.0.1 that records every request. Its behaviour can be changed while
 * the test runs (fail first, then succeed…).
 */
export class TestReceiver {
  readonly received: Received[] = [];
  behaviour: Behaviour = (_req, res) => res.end();
  private server: Server;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  private sockets = new Set<import('node:net').Socket>();

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Received = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.received.push(rec);
        try {
          this.behaviour(rec, res, this.received.length - 1);
        } finally {
          this.check();
        }
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.pred()) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves once `pred` holds over what was received; rejects after `timeoutMs`. */
  waitFor(pred: (received: Received[]) => boolean, timeoutMs = 20_000, what = 'requests'): Promise<void> {
    if (pred(this.received)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.received.length} requests`)), timeoutMs);
      this.waiters.push({
        pred: () => pred(this.received),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  waitForCount(n: number, timeoutMs = 20_000): Promise<void> {
    return this.waitFor((r) => r.length >= n, timeoutMs, `${n} requests`);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
