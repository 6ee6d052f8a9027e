import { Type } from '@sinclair/typebox';
import { invalid } from '../errors.js';
import { isTimeZone } from '../formats/fields.js';
import { text, type FieldSpec } from '../formats/module.js';
import type { SourceFormat } from './module.js';

/**
 * Settings of the inbound formats, resolved from their fields as data: each field's value checked by
 * its type, null removing a nullable one, required ones present after the change. Pure.
 */
export function resolveFields(fields: readonly FieldSpec[], input: Record<string, unknown>, current: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const f of fields) {
    const v = input[f.key];
    if (v === undefined) continue;
    const at = `settings.${f.key}`;
    if (v === null) {
      if (!f.nullable) throw invalid(at, 'may not be null');
      delete out[f.key];
      continue;
    }
    switch (f.type) {
      case 'select':
        if (!f.options?.includes(v as string)) throw invalid(at, `must be one of ${f.options?.join(', ')}`);
        out[f.key] = v;
        break;
      case 'timezone':
        if (typeof v !== 'string' || !isTimeZone(v)) throw invalid(at, `unknown time zone "${String(v)}" (use an IANA name such as Europe/Paris)`);
        out[f.key] = v;
        break;
      case 'number':
        out[f.key] = v;
        break;
      default:
        out[f.key] = text(at, v as string, 1024);
    }
  }
  for (const f of fields) if (f.required && (out[f.key] === undefined || out[f.key] === '')) throw invalid(`settings.${f.key}`, 'is required');
  return out;
}

/** The settings as the API shows them: each secret replaced by `<key>_set`. */
export function settingsView(mod: SourceFormat, settings: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) {
    if (mod.secretSettings.includes(k)) continue;
    out[k] = v;
  }
  for (const k of mod.secretSettings) out[`${k}_set`] = settings[k] !== undefined && settings[k] !== '';
  return out;
}

/** A text setting's schema. */
export const TextSchema = (description: string, max = 1024) => Type.String({ minLength: 1, maxLength: max, description });
