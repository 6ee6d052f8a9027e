import { Type } from '@sinclair/typebox';
import { invalid } from '../../errors.js';

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

export const Paging = {
  offset: Type.Integer({ minimum: 0, default: 0 }),
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
