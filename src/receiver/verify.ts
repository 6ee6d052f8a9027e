import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { VerifyError } from './errors.js';
import { bodyText, contentType, headerOf, queryOf, type ReceivedRequest } from './request.js';

/** The wire formats the relay sends (a callback's `format`). */
export const FORMATS = ['standard', 'template', 'engagelab', 'engagelab-email', 'octopush', 'whispir', 'twilio'] as const;
export type Format = (typeof FORMATS)[number];

/** Five minutes, the Standard Webhooks default. */
export const DEFAULT_TOLERANCE_SEC = 300;

interface Timing {
  /** How far the request's timestamp may be from now, in seconds (default 300). */
  toleranceSec?: number;
  /** The time to check against, epoch ms (default Date.now()). */
  now?: number;
}

export interface StandardOptions extends Timing {
  /** The callback's `whsec_…` secret, or several (a rotation: any one may match). */
  secret: string | readonly string[];
}

export interface EngagelabOptions extends Timing {
  /** The callback's `username`: the one X-CALLBACK-ID must name. */
  username: string;
  /** The callback's `secret`, which keys the signature. */
  secret: string;
  /** The callback's `authorization`, when set: the Authorization header must be exactly it. */
  authorization?: string;
}

export interface EngagelabEmailOptions extends Timing {
  /** The callback's signature key (`secret`). */
  key: string;
  /** The callback's `signature` setting (default md5). */
  scheme?: 'md5' | 'hmac-sha256';
  /** The `app_key` X-WebHook-AppKey must carry (default: whatever it carries). */
  appKey?: string;
}

export interface WhispirOptions {
  /** The callback's `auth.key`, sent as `?auth=` or `X-Whispir-Callback-Key`. */
  key: string;
}

export interface TwilioOptions {
  /** The callback's `auth_token`. */
  authToken: string;
  /**
   * The URL the relay was told to call (the callback's `url`, query included): the signature covers
   * it. Default: `http://` + the Host header + the request target (set it behind a proxy or TLS).
   */
  url?: string;
}

/** Template callbacks are signed the Standard Webhooks way; `authorization` checks a static auth value too. */
export interface TemplateOptions extends StandardOptions {
  authorization?: string;
}

/** Octopush signs nothing: protect the URL (an unguessable path) instead. */
export type OctopushOptions = Record<string, never>;

export interface VerifyOptionsOf {
  standard: StandardOptions;
  template: TemplateOptions;
  engagelab: EngagelabOptions;
  'engagelab-email': EngagelabEmailOptions;
  octopush: OctopushOptions;
  whispir: WhispirOptions;
  twilio: TwilioOptions;
}
export type VerifyOptions = VerifyOptionsOf[Format];

/** Compares in time independent of where two strings differ. */
export function sameString(a: string, b: string): boolean {
  // Digests first: timingSafeEqual needs equal lengths, and this keeps the length out of the timing too.
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function required(req: ReceivedRequest, name: string): string {
  const v = headerOf(req, name);
  if (v === undefined || v === '') throw new VerifyError('missing_header', `the ${name} header is missing`);
  return v;
}

function checkTime(timestampSec: string, o: Timing, what: string): void {
  if (!/^\d{1,12}$/.test(timestampSec)) throw new VerifyError('malformed', `${what} is not a Unix time in seconds`);
  const skew = Math.abs((o.now ?? Date.now()) / 1000 - Number(timestampSec));
  const tolerance = o.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
  if (skew > tolerance) throw new VerifyError('stale_timestamp', `${what} is ${Math.round(skew)} s away from now (tolerance ${tolerance} s)`);
}

/** The HMAC key of a `whsec_` secret: its base64 part, decoded. */
function whsecKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/**
 * Standard Webhooks (formats `standard` and `template`): `webhook-signature` holds one or more
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` separated by spaces; any one signed with one of
 * the secrets passes. Returns the message id (`webhook-id`, the event id: stable across retries).
 *
 * @example
 * const { id } = verifyStandard({ method, url, headers, body: rawBody }, { secret: 'whsec_…' });
 */
export function verifyStandard(req: ReceivedRequest, o: StandardOptions): { id: string; timestamp: number } {
  const id = required(req, 'webhook-id');
  const timestamp = required(req, 'webhook-timestamp');
  const signatures = required(req, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp)) throw new VerifyError('malformed', 'webhook-timestamp is not a Unix time in seconds');
  const signed = `${id}.${timestamp}.${bodyText(req)}`;
  const secrets = typeof o.secret === 'string' ? [o.secret] : o.secret;
  if (secrets.length === 0) throw new Error('verifyStandard: no secret given');
  const expected = secrets.map((s) => createHmac('sha256', whsecKey(s)).update(signed).digest('base64'));
  let match = false;
  for (const part of signatures.split(' ')) {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || sig === undefined) continue;
    for (const e of expected) if (sameString(sig, e)) match = true;
  }
  if (!match) throw new VerifyError('bad_signature', 'no webhook-signature matches the body with the given secret(s)');
  checkTime(timestamp, o, 'webhook-timestamp');
  return { id, timestamp: Number(timestamp) };
}

/** A template callback: its Standard Webhooks headers, and the static Authorization value when given. */
export function verifyTemplate(req: ReceivedRequest, o: TemplateOptions): { id: string; timestamp: number } {
  if (o.authorization !== undefined) checkAuthorization(req, o.authorization);
  return verifyStandard(req, o);
}

function checkAuthorization(req: ReceivedRequest, expected: string): void {
  const given = headerOf(req, 'authorization');
  if (given === undefined) throw new VerifyError('missing_header', 'the Authorization header is missing');
  if (!sameString(given, expected)) throw new VerifyError('wrong_key', 'the Authorization header is not the configured one');
}

/**
 * EngageLab OTP/SMS: `X-CALLBACK-ID: timestamp=…;nonce=…;username=…;signature=…` with
 * signature = hex HMAC-SHA256(secret, timestamp + nonce + username). The signature does not cover the
 * body (EngageLab's design): use HTTPS, and the Authorization value for a second secret.
 */
export function verifyEngagelab(req: ReceivedRequest, o: EngagelabOptions): { nonce: string; timestamp: number } {
  const raw = required(req, 'X-CALLBACK-ID');
  const fields: Record<string, string> = {};
  for (const kv of raw.split(';')) {
    const at = kv.indexOf('=');
    if (at > 0) fields[kv.slice(0, at).trim()] = kv.slice(at + 1).trim();
  }
  const { timestamp, nonce, username, signature } = fields;
  if (!timestamp || !nonce || !username || !signature) throw new VerifyError('malformed', 'X-CALLBACK-ID lacks one of timestamp, nonce, username, signature');
  if (!sameString(username, o.username)) throw new VerifyError('wrong_key', 'X-CALLBACK-ID names another username');
  const expected = createHmac('sha256', o.secret).update(timestamp + nonce + username).digest('hex');
  if (!sameString(signature.toLowerCase(), expected)) throw new VerifyError('bad_signature', 'the X-CALLBACK-ID signature does not match the secret');
  checkTime(timestamp, o, 'the X-CALLBACK-ID timestamp');
  if (o.authorization !== undefined) checkAuthorization(req, o.authorization);
  return { nonce, timestamp: Number(timestamp) };
}

/**
 * EngageLab e-mail: `X-WebHook-Signature` = hex md5(timestamp + app key + key), or hex
 * HMAC-SHA256(key, timestamp) with `scheme: 'hmac-sha256'`. It does not cover the body either.
 */
export function verifyEngagelabEmail(req: ReceivedRequest, o: EngagelabEmailOptions): { timestamp: number } {
  const timestamp = required(req, 'X-WebHook-Timestamp');
  const appKey = required(req, 'X-WebHook-AppKey');
  const signature = required(req, 'X-WebHook-Signature');
  if (o.appKey !== undefined && !sameString(appKey, o.appKey)) throw new VerifyError('wrong_key', 'X-WebHook-AppKey is not the configured app key');
  const expected =
    o.scheme === 'hmac-sha256'
      ? createHmac('sha256', o.key).update(timestamp).digest('hex')
      : createHash('md5').update(timestamp + appKey + o.key).digest('hex');
  if (!sameString(signature.toLowerCase(), expected)) throw new VerifyError('bad_signature', 'X-WebHook-Signature does not match the key');
  checkTime(timestamp, o, 'X-WebHook-Timestamp');
  return { timestamp: Number(timestamp) };
}

/** Whispir: the key as `?auth=KEY` or `X-Whispir-Callback-Key: KEY`. */
export function verifyWhispir(req: ReceivedRequest, o: WhispirOptions): void {
  const given = queryOf(req).get('auth') ?? headerOf(req, 'X-Whispir-Callback-Key');
  if (given === undefined || given === null || given === '') throw new VerifyError('missing_header', 'neither ?auth= nor X-Whispir-Callback-Key carries a key');
  if (!sameString(given, o.key)) throw new VerifyError('wrong_key', 'the Whispir callback key is not the configured one');
}

/** The URL the sender called: absolute as given, else rebuilt from the Host header. */
function calledUrl(req: ReceivedRequest, given?: string): string {
  if (given !== undefined) return given;
  if (/^https?:\/\//i.test(req.url)) return req.url;
  return `http://${headerOf(req, 'host') ?? 'localhost'}${req.url}`;
}

/**
 * Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1(auth token, URL + each POST parameter's name and
 * value, sorted by name). The URL must be the one the relay called, query included (see `url`).
 */
export function verifyTwilio(req: ReceivedRequest, o: TwilioOptions): void {
  const signature = required(req, 'X-Twilio-Signature');
  const params = req.method.toUpperCase() === 'POST' && contentType(req) === 'application/x-www-form-urlencoded' ? new URLSearchParams(bodyText(req)) : new URLSearchParams();
  const names = [...new Set(params.keys())].sort();
  let data = calledUrl(req, o.url);
  for (const n of names) for (const v of params.getAll(n)) data += n + v;
  const expected = createHmac('sha1', o.authToken).update(data, 'utf8').digest('base64');
  if (!sameString(signature, expected)) throw new VerifyError('bad_signature', 'X-Twilio-Signature does not match the URL, the parameters and the auth token');
}

/**
 * Verifies a request of `format` with that format's options; throws VerifyError (with `reason`) when it
 * does not pass. Octopush signs nothing: it always passes.
 *
 * @example
 * verify('engagelab', req, { username: 'acme', secret: process.env.ENGAGELAB_SECRET! });
 */
export function verify<F extends Format>(format: F, req: ReceivedRequest, options: VerifyOptionsOf[F]): void {
  if (!Object.hasOwn(VERIFIERS, format)) throw new Error(`unknown format ${String(format)}`);
  (VERIFIERS[format] as (req: ReceivedRequest, options: VerifyOptionsOf[F]) => void)(req, options);
}

/** Each format's check of a request. */
const VERIFIERS: { [F in Format]: (req: ReceivedRequest, options: VerifyOptionsOf[F]) => void } = {
  standard: verifyStandard,
  template: verifyTemplate,
  engagelab: verifyEngagelab,
  'engagelab-email': verifyEngagelabEmail,
  whispir: verifyWhispir,
  twilio: verifyTwilio,
  octopush: () => {},
};
