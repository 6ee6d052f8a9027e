import type { Db } from '../store/db.js';
import type { SourceRow } from '../store/schema.js';
import { findSourceByToken } from '../store/sources.js';
import type { SourceFormat } from './module.js';
import { sourceFormat } from './registry.js';

/** A source as an inbound request needs it: the row, its settings parsed, its format. */
export interface KnownSource {
  row: SourceRow;
  settings: Record<string, unknown>;
  format: SourceFormat;
}

export interface SourceLookupOptions {
  /** How long a source found is used without reading it again (changes made by other processes). Default 1000. */
  maxAgeMs?: number;
  /** Sources kept at most; past it all are forgotten at once. Default 10,000. */
  max?: number;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

/**
 * The sources of ingest URLs, by token, kept for a second: every inbound request looks its source up
 * (a query, unsealing its secrets, parsing its settings), and a vendor sends thousands a second to the
 * same few URLs. A change made through this process's API (`forget`) is seen at once; one made by
 * another process (PostgreSQL deployments run several) within `maxAgeMs`. Only sources found are
 * kept: a token that matches nothing is looked up every time, so guessing fills nothing.
 */
export class SourceLookup {
  private readonly known = new Map<string, { source: KnownSource; at: number }>();
  private readonly maxAgeMs: number;
  private readonly max: number;
  private readonly now: () => number;
  /** Bumped by `forget`: a lookup that started before it does not keep what it read. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    opts: SourceLookupOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 1000;
    this.max = opts.max ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The source whose ingest URL has this token, with a format this relay knows; undefined otherwise. */
  async find(token: string): Promise<KnownSource | undefined> {
    const hit = this.known.get(token);
    if (hit && this.now() - hit.at < this.maxAgeMs) return hit.source;
    const generation = this.generation;
    const row = await findSourceByToken(this.db, token);
    const format = row && sourceFormat(row.format);
    if (!row || !format) {
      this.known.delete(token);
      return undefined;
    }
    // Shared by every request of this source until forgotten: frozen, so no format's check can change it.
    const source: KnownSource = { row, settings: Object.freeze(JSON.parse(row.settings) as Record<string, unknown>), format };
    if (generation === this.generation) {
      if (this.known.size >= this.max) this.known.clear();
      this.known.set(token, { source, at: this.now() });
    }
    return source;
  }

  /** Forgets every source kept: after a source is changed, its token rotated, or it is deleted here. */
  forget(): void {
    this.generation += 1;
    this.known.clear();
  }
}
