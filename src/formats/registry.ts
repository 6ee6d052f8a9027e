import type { FormatModule } from './module.js';
import { standardFormat } from './standard.js';
import { engagelabFormat } from './engagelab.js';
import { engagelabEmailFormat } from './engagelab-email.js';
import { octopushFormat } from './octopush.js';
import { whispirFormat } from './whispir.js';
import { templateFormat } from './template/index.js';
import { twilioFormat } from './twilio.js';

/**
 * Every wire format, in the order the API lists them; the first is the default. Adding a format is one
 * file in src/formats/ (its FormatModule), one line here and one document in docs/formats/
 * (docs/adding-a-format.md).
 */
export const FORMAT_MODULES: readonly FormatModule[] = [
  standardFormat,
  engagelabFormat,
  engagelabEmailFormat,
  octopushFormat,
  whispirFormat,
  templateFormat,
  twilioFormat,
];

const BY_NAME = new Map(FORMAT_MODULES.map((m) => [m.name, m]));

export const FORMATS: readonly string[] = FORMAT_MODULES.map((m) => m.name);
export const DEFAULT_FORMAT = FORMAT_MODULES[0]!;

export function isFormat(name: string): boolean {
  return BY_NAME.has(name);
}

/** The module of a stored or given format name; a name no longer known falls back to the default. */
export function formatModule(name: string): FormatModule {
  return BY_NAME.get(name) ?? DEFAULT_FORMAT;
}
