import { Memo } from '../../lib/memo.js';
import type { BodyType } from './types.js';
import { ALL_CATALOGUE, META } from './variables.js';

/** Where a value lands; decides its escaping. */
export type Ctx = 'url' | 'header' | 'raw' | 'json-string' | 'json-value' | 'xml' | 'form';
export type Part = string | { ref: string; path: string[]; ctx: Ctx };
export type TemplateKind = 'url' | 'header' | 'query' | BodyType;

export class TemplateError extends Error {}

const BRACES = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/y;
const ANGLE = /<([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)>/y;

const BASE_CTX: Record<TemplateKind, Ctx> = { url: 'url', header: 'header', query: 'raw', json: 'json-string', xml: 'xml', html: 'xml', text: 'raw', form: 'form' };

/**
 * Splits a template into literal text and placeholders. `{{…}}` always starts a placeholder (a
 * malformed one is an error); `<name>` is one only when `name` is a known variable, and never in
 * XML/HTML, where `<…>` is markup. In JSON a placeholder inside a string gets JSON-string escaping;
 * outside one it is replaced by the value as a JSON literal.
 */
function parse(template: string, kind: TemplateKind): Part[] {
  const parts: Part[] = [];
  const angle = kind !== 'xml' && kind !== 'html';
  const json = kind === 'json';
  let lit = '';
  let inString = false;
  let i = 0;
  const push = (ref: string) => {
    if (lit) parts.push(lit);
    lit = '';
    const ctx = json ? (inString ? 'json-string' : 'json-value') : BASE_CTX[kind];
    parts.push({ ref, path: ref.split('.'), ctx });
  };
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '{' && template[i + 1] === '{') {
      BRACES.lastIndex = i;
      const m = BRACES.exec(template);
      if (!m) throw new TemplateError(`malformed placeholder at offset ${i} ("{{" must open {{name}} or {{data.path}})`);
      push(m[1]!);
      i = BRACES.lastIndex;
      continue;
    }
    if (ch === '<' && angle) {
      ANGLE.lastIndex = i;
      const m = ANGLE.exec(template);
      const first = m?.[1]?.split('.')[0];
      if (m && first !== undefined && (META.has(first) || ALL_CATALOGUE.has(first))) {
        push(m[1]!);
        i = ANGLE.lastIndex;
        continue;
      }
    }
    if (json) {
      if (inString && ch === '\\') {
        lit += template.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === '"') inString = !inString;
    }
    lit += ch;
    i += 1;
  }
  if (lit) parts.push(lit);
  return parts;
}

const parsed = new Memo<string, Part[]>(5000);
/** A template's parts, parsed once per (kind, template). Throws TemplateError. */
export function compile(template: string, kind: TemplateKind): Part[] {
  return parsed.get(`${kind}\u0000${template}`, () => parse(template, kind));
}

/** The variables a template uses (first segment of each placeholder). Throws TemplateError. */
export function templateVariables(template: string, kind: TemplateKind): string[] {
  return compile(template, kind).flatMap((p) => (typeof p === 'string' ? [] : [p.path[0]!]));
}
