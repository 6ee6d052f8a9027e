import { Type } from '@sinclair/typebox';
import { invalid } from '../../errors.js';

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

/**
 * The largest `offset` a list takes. An unbounded integer (1e20 is one) reached the database, which
 * cannot take it (PostgreSQL's bigint, SQLite's 64-bit integer): a 500 instead of a 422.
 */
export const MAX_OFFSET = 1_000_000_000;

export const Offset = (description?: string) => Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, ...(description ? { description } : {}) });

export const Paging = {
  offset: Offset(),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
};

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** An ISO 8601 time from a query or body, as epoch milliseconds. */
export function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(field, 'is not an ISO 8601 time');
  return ms;
}
