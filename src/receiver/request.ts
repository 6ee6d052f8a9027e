/**
 * The request as a receiver got it, whatever the framework: the raw body is what the signatures cover,
 * so it must be the bytes as received (not a re-serialised parsed body).
 */
export type HeaderValue = string | readonly string[] | undefined;

export interface ReceivedRequest {
  /** `POST`, `GET`, … */
  method: string;
  /** The request target as received (`/hooks?auth=…`) or an absolute URL. */
  url: string;
  /** Header names in any case (node:http gives them lower-cased). */
  headers: Readonly<Record<string, HeaderValue>>;
  /** The raw body: a string (UTF-8) or the bytes. */
  body: string | Uint8Array;
}

/** A header's value by name, whatever its case; the first one when repeated. */
export function headerOf(req: Pick<ReceivedRequest, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() !== lower || v === undefined) continue;
    return typeof v === 'string' ? v : v[0];
  }
  return undefined;
}

export function bodyText(req: Pick<ReceivedRequest, 'body'>): string {
  return typeof req.body === 'string' ? req.body : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength).toString('utf8');
}

/** The URL's query parameters (the request target may be a path or an absolute URL). */
export function queryOf(req: Pick<ReceivedRequest, 'url'>): URLSearchParams {
  return new URL(req.url, 'http://receiver.invalid').searchParams;
}

export function contentType(req: Pick<ReceivedRequest, 'headers'>): string {
  return (headerOf(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}
