import type { Cipher } from '../crypto.js';

/** What a template callback may be set to, and what it keeps in its settings. */
export const TEMPLATE_CHANNELS = ['none', 'sms', 'email', 'otp', 'whatsapp', 'system'] as const;
export type TemplateChannel = (typeof TEMPLATE_CHANNELS)[number];
export const TEMPLATE_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type TemplateMethod = (typeof TEMPLATE_METHODS)[number];
export const BODY_TYPES = ['json', 'xml', 'html', 'text', 'form'] as const;
export type BodyType = (typeof BODY_TYPES)[number];

export type StaticAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'raw'; value: string };

export interface TokenAuthSettings {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  client_id: string;
  /** Sealed at rest when RELAY_MASTER_KEY is set. */
  client_secret: string;
  /** How client id, secret and params are sent with POST/PUT (GET: always the query). */
  encoding: 'form' | 'json';
  params: Record<string, string>;
  headers: Record<string, string>;
}

export interface EncryptionSettings {
  /** values: each substituted value on its own; body: the whole body as compact JWE (dir, A256GCM). */
  scope: 'values' | 'body';
  cipher: Cipher;
  /** base64 of the key bytes; sealed at rest when RELAY_MASTER_KEY is set. */
  key: string;
}

/** What a template callback keeps in `settings` (its URL and header templates are the columns). */
export interface TemplateSettings {
  channel: TemplateChannel;
  query?: Record<string, string>;
  body_type?: BodyType;
  body?: string;
  /** The body is the default of its body type (it follows a later change of body_type). */
  body_default?: boolean;
  auth?: StaticAuth;
  token_auth?: TokenAuthSettings;
  encryption?: EncryptionSettings;
  success?: { statuses?: number[]; body_contains?: string };
  retry_schedule?: number[];
}
