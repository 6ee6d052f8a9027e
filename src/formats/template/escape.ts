import { escapeMarkup } from '../xml.js';
import type { Ctx } from './parse.js';

/**
 * Header values: control characters (CR, LF, TAB, …) become spaces; `%` and non-ASCII characters are
 * percent-encoded (UTF-8), so `decodeURIComponent` gives the value back apart from the controls.
 */
export function escapeHeader(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => (c.charCodeAt(0) < 0x20 || c === '\x7f' ? ' ' : encodeURIComponent(c)));
}

/** A value's text escaped for where it lands (docs/formats/template.md, Escaping). */
export function escapeValue(text: string, ctx: Ctx): string {
  switch (ctx) {
    case 'url':
      // `/ ? # \` are encoded, so a value stays inside its segment; a value that is `.` or `..`
      // would still be a dot segment (a step up the path) unless its dots are encoded too. The
      // sender sends encoded dot segments as written (http.ts, requestTarget).
      return text === '.' || text === '..' ? text.replace(/\./g, '%2E') : encodeURIComponent(text);
    case 'header':
      return escapeHeader(text);
    case 'json-string':
      return JSON.stringify(text).slice(1, -1);
    case 'xml':
      return escapeMarkup(text);
    case 'form':
      return encodeURIComponent(text).replace(/%20/g, '+');
    default:
      return text;
  }
}

