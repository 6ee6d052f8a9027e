import { xmlProblem } from '../xml.js';
import type { BodyType } from './types.js';

/** Why a rendered body is not valid for its type; null when it is. */
export function bodyProblem(type: BodyType, body: string): string | null {
  switch (type) {
    case 'json':
      try {
        JSON.parse(body);
        return null;
      } catch (err) {
        return `is not valid JSON once rendered (${(err as Error).message})`;
      }
    case 'xml': {
      const p = xmlProblem(body);
      return p === null ? null : `is not well-formed XML once rendered (${p})`;
    }
    case 'form':
      return /^[^=&\s]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*$/.test(body)
        ? null
        : 'must be key=value pairs joined by & (keys and values URL-encoded, no spaces), e.g. to={{to}}&status={{status}}';
    default:
      return body.trim() === '' ? 'is empty' : null;
  }
}
