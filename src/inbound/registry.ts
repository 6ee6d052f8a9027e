import type { SourceFormat } from './module.js';
import { octopushSource } from './octopush.js';
import { engagelabSource } from './engagelab.js';
import { whispirSource } from './whispir.js';
import { twilioSource } from './twilio.js';
import { smppSource } from './smpp.js';
import { standardSource } from './standard.js';

/**
 * Every inbound format, in the order the API lists them. Adding one is one file in src/inbound/ (its
 * SourceFormat), one line here, and its mapping table in docs/inbound.md.
 */
export const SOURCE_FORMATS: readonly SourceFormat[] = [octopushSource, engagelabSource, whispirSource, twilioSource, smppSource, standardSource];

const BY_NAME = new Map(SOURCE_FORMATS.map((m) => [m.name, m]));

export const SOURCE_FORMAT_NAMES: readonly string[] = SOURCE_FORMATS.map((m) => m.name);

export function sourceFormat(name: string): SourceFormat | undefined {
  return BY_NAME.get(name);
}

/** Headers that carry a vendor's credentials: kept as `[redacted]` in stored requests. */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie', 'x-callback-id', 'x-twilio-signature', 'x-whispir-callback-key', 'webhook-signature', 'proxy-authorization'];

/** Query parameters that carry credentials (Whispir's `?auth=`). */
export const CREDENTIAL_PARAMS: readonly string[] = ['auth'];
