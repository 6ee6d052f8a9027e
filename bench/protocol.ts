/** Messages between bench.ts and its receiver child process (Node IPC, JSON-serialised). */

export type ReceiverMode = 'ok' | 'blackhole';

export interface ReceiverStats {
  /** Requests whose headers arrived (blackhole mode counts them too). */
  requests: number;
  /** Distinct (server, path, webhook-id) triples; equals `requests` when tracking is off. */
  distinct: number;
  /** Requests without a `webhook-id` header (each counted as distinct). */
  missingId: number;
  /** Requests per listening port, in the order of `ready.ports`. */
  perServer: number[];
  /** Epoch milliseconds (sub-ms precision) of the first / last distinct request since reset. */
  firstAt: number | null;
  lastAt: number | null;
  /** When each `markEvery`-th distinct request arrived (epoch ms), in order: the rate over time. */
  marks: number[];
  markEvery: number;
  /** Latency samples held (latency mode only). */
  samples: number;
  /** Bodies whose `data.sent_at` could not be read (latency mode only). */
  badBodies: number;
}

export type ParentMessage =
  | { seq: number; cmd: 'stats' }
  | { seq: number; cmd: 'reset'; distinct: boolean; latency: boolean }
  | { seq: number; cmd: 'samples' };

export type ReceiverMessage =
  | { type: 'ready'; ports: number[] }
  | { type: 'reply'; seq: number; stats: ReceiverStats; samples?: number[] };
