import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: no type coercion, unknown fields refused (never silently dropped).
 * Query strings and path parameters arrive as text, so those are coerced to the declared types.
 */
function makeAjv(coerce: boolean): Ajv {
  // strictNumbers: JSON's 1e309 parses as Infinity, which is no number a field can hold.
  const ajv = new Ajv({ allErrors: false, coerceTypes: coerce ? 'array' : false, removeAdditional: false, useDefaults: true, strict: false, strictNumbers: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const paramAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : paramAjv;
  return ajv.compile(schema) as ValidateFunction;
};

interface AjvErrorLike {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns the first schema error into `{field, message}`, the field as a dotted path. */
export function describeValidationError(errors: AjvErrorLike[], part: string): { field: string; message: string } {
  const e = errors[0] ?? {};
  const base = (e.instancePath ?? '').replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  const at = (extra: string) => [part === 'body' ? '' : part, base, extra].filter(Boolean).join('.').replace(/\.\[/g, '[');
  const allowed = allowedValues(errors, e.instancePath ?? '');
  if (allowed) return { field: at('') || part, message: `must be one of ${allowed.join(', ')}` };
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(e.params?.additionalProperty);
      return { field: at(name), message: `unknown field "${name}"` };
    }
    case 'required': {
      const name = String(e.params?.missingProperty);
      return { field: at(name), message: 'is required' };
    }
    case 'type':
      if (e.params?.type === 'number' || e.params?.type === 'integer') return { field: at('') || part, message: `must be a finite ${String(e.params.type)}` };
      return { field: at('') || part, message: e.message ?? 'is invalid' };
    default:
      return { field: at('') || part, message: e.message ?? 'is invalid' };
  }
}

/**
 * The values a field takes, when its schema is a list of them (an enum, or a union of literals such
 * as `state`), so the error can name them: `must be one of pending, delivered, failed, held`.
 * Ajv reports a failed union as each branch's error, then the union's own (keyword anyOf).
 */
function allowedValues(errors: AjvErrorLike[], path: string): string[] | undefined {
  const here = errors.filter((x) => (x.instancePath ?? '') === path);
  const first = here[0];
  if (first?.keyword === 'enum' && Array.isArray(first.params?.allowedValues)) return (first.params.allowedValues as unknown[]).map(String);
  const union = here.findIndex((x) => x.keyword === 'anyOf' || x.keyword === 'oneOf');
  if (union <= 0) return undefined;
  const branches = here.slice(0, union);
  if (!branches.every((x) => x.keyword === 'const' || x.keyword === 'enum')) return undefined;
  return branches.flatMap((x) => (x.keyword === 'const' ? [String(x.params?.allowedValue)] : ((x.params?.allowedValues as unknown[]) ?? []).map(String)));
}
