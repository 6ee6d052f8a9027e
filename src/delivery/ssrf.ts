/**
 * Destination guard (SSRF protection) for outbound callback requests.
 *
 * Two layers:
 *  - `checkDestinationUrl` — a pure check of a URL (save time and again right before sending). It
 *    refuses non-http(s) URLs, blocked IP literals (after WHATWG normalisation, so `127.1`,
 *    `2130706433`, `0x7f.1`, `[::ffff:7f00:1]` … are all seen as 127.0.0.1) and names that are local
 *    by definition. It never resolves DNS.
 *  - `guardedLookup` — a `dns.lookup` replacement handed to `net.connect`/`tls.connect`. Every
 *    address a name resolves to is checked, and the socket connects to the address that was checked
 *    (no time-of-check/time-of-use gap, so DNS rebinding does not help an attacker).
 *
 * `RELAY_ALLOW_PRIVATE_NETWORKS=1` (allowPrivate) turns both layers off for loopback and private
 * destinations (tests and local receivers), but never for cloud metadata endpoints: those hold the
 * host's credentials and no local receiver lives there, so they stay refused whatever the flag says.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

/**
 * Parses an IPv4 address the way WHATWG URL / inet_aton do: 1–4 dot-separated parts, each decimal,
 * `0x` hex or `0`-prefixed octal; the last part fills the remaining bytes; one trailing dot allowed.
 * Returns the address as an unsigned 32-bit number, or null when `s` is not an IPv4 address.
 */
function parseIPv4(s: string): number | null {
  if (s.length === 0 || s.length > 64) return null;
  const parts = s.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const n = parts.length;
  if (n === 0 || n > 4) return null;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const v = parseIPv4Part(parts[i]!);
    if (v === null) return null;
    if (i < n - 1) {
      if (v > 255) return null;
      value += v * 2 ** (8 * (3 - i));
    } else {
      if (v >= 2 ** (8 * (4 - i))) return null;
      value += v;
    }
  }
  return value >>> 0;
}

function parseIPv4Part(p: string): number | null {
  if (p.length === 0) return null;
  let radix = 10;
  let digits = p;
  if (p.length >= 2 && p[0] === '0' && (p[1] === 'x' || p[1] === 'X')) {
    radix = 16;
    digits = p.slice(2);
    if (digits.length === 0) return 0; // "0x" alone is 0 in WHATWG
    if (!/^[0-9a-fA-F]+$/.test(digits)) return null;
  } else if (p.length >= 2 && p[0] === '0') {
    radix = 8;
    digits = p.slice(1);
    if (!/^[0-7]+$/.test(digits)) return null;
  } else if (!/^[0-9]+$/.test(p)) {
    return null;
  }
  const v = parseInt(digits, radix);
  return Number.isSafeInteger(v) ? v : null;
}

/** Strict dotted quad (the form allowed at the end of an IPv6 address). */
function parseDottedQuad(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    value = value * 256 + v;
  }
  return value >>> 0;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses an IPv6 address (optionally bracketed, optionally with a `%zone`, with `::` compression and
 * an optional trailing dotted-quad) into its eight 16-bit groups, or null when it is not one.
 */
function parseIPv6(input: string): number[] | null {
  let s = input;
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) return null;
    s = s.slice(1, -1);
  }
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return null;

  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;

  const parseSide = (side: string, allowV4Tail: boolean): number[] | null => {
    if (side === '') return [];
    const parts = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseDottedQuad(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEX_GROUP.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };

  if (dbl < 0) {
    const groups = parseSide(s, true);
    return groups !== null && groups.length === 8 ? groups : null;
  }
  const head = parseSide(s.slice(0, dbl), false);
  const tail = parseSide(s.slice(dbl + 2), true);
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  const groups = head;
  for (let i = 0; i < missing; i++) groups.push(0);
  for (const g of tail) groups.push(g);
  return groups;
}

function classifyIPv4(n: number): string | null {
  const a = n >>> 24;
  const b = (n >>> 16) & 0xff;
  const c = (n >>> 8) & 0xff;
  if (a === 0) return n === 0 ? 'unspecified' : 'reserved'; // 0.0.0.0/8 "this network"
  if (a === 10) return 'private';
  if (n === 0xa83f8110) return 'metadata'; // 168.63.129.16 (Azure WireServer: a public address, but the host's)
  if (a === 100 && (b & 0xc0) === 64) return n === 0x646464c8 ? 'metadata' : 'cgnat'; // 100.100.100.200 (Alibaba)
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) {
    // 169.254.169.254 (AWS, GCP, Azure, …), 169.254.170.2 / .23 (ECS / EKS credentials)
    if (n === 0xa9fea9fe || n === 0xa9feaa02 || n === 0xa9feaa17) return 'metadata';
    return 'link-local';
  }
  if (a === 172 && (b & 0xf0) === 16) return 'private';
  if (a === 192) {
    if (b === 0 && c === 0) return n === 0xc00000c0 ? 'metadata' : 'reserved'; // 192.0.0.192 (Oracle)
    if (b === 0 && c === 2) return 'documentation';
    if (b === 88 && c === 99) return 'reserved'; // deprecated 6to4 relay anycast
    if (b === 168) return 'private';
  }
  if (a === 198) {
    if ((b & 0xfe) === 18) return 'reserved'; // benchmarking 198.18.0.0/15
    if (b === 51 && c === 100) return 'documentation';
  }
  if (a === 203 && b === 0 && c === 113) return 'documentation';
  if (a >= 224 && a <= 239) return 'multicast';
  if (n === 0xffffffff) return 'broadcast';
  if (a >= 240) return 'reserved';
  return null;
}

function classifyIPv6(g: number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const v4 = ((g6 << 16) >>> 0) + g7;
  if ((g0 | g1 | g2 | g3 | g4) === 0) {
    if (g5 === 0) {
      if ((g6 | g7) === 0) return 'unspecified'; // ::
      if (g6 === 0 && g7 === 1) return 'loopback'; // ::1
      return classifyIPv4(v4); // IPv4-compatible ::a.b.c.d (deprecated)
    }
    if (g5 === 0xffff) return classifyIPv4(v4); // IPv4-mapped ::ffff:a.b.c.d
  }
  if ((g0 | g1 | g2 | g3) === 0 && g4 === 0xffff && g5 === 0) return classifyIPv4(v4); // SIIT ::ffff:0:a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b) {
    if ((g2 | g3 | g4 | g5) === 0) return classifyIPv4(v4); // NAT64 64:ff9b::/96
    if (g2 === 1) return 'private'; // local-use NAT64 64:ff9b:1::/48
  }
  if (g0 === 0x2002) return classifyIPv4(((g1 << 16) >>> 0) + g2); // 6to4 2002:AABB:CCDD::/48
  if (g0 === 0x2001) {
    if (g1 === 0) return 'reserved'; // Teredo 2001::/32 (embedded addresses are obfuscated)
    if (g1 === 0x0db8) return 'documentation';
    if (g1 === 2 && g2 === 0) return 'reserved'; // benchmarking 2001:2::/48
    if ((g1 & 0xfff0) === 0x10 || (g1 & 0xfff0) === 0x20) return 'reserved'; // ORCHID v1/v2
  }
  if (g0 === 0x3fff && g1 < 0x1000) return 'documentation'; // 3fff::/20
  // fd00:ec2::254 (AWS IMDS), fd00:ec2::23 (EKS Pod Identity), fd20:ce::254 (GCP, IPv6-only VMs)
  if (g0 === 0xfd00 && g1 === 0x0ec2 && (g2 | g3 | g4 | g5 | g6) === 0 && (g7 === 0x254 || g7 === 0x23)) return 'metadata';
  if (g0 === 0xfd20 && g1 === 0x00ce && (g2 | g3 | g4 | g5 | g6) === 0 && g7 === 0x254) return 'metadata';
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local fec0::/10
  if ((g0 & 0xff00) === 0xff00) return 'multicast'; // ff00::/8
  if ((g0 & 0xe000) !== 0x2000) return 'reserved'; // outside global unicast 2000::/3 (incl. 100::/64 discard)
  return null;
}

/**
 * Why `ip` must not be called, or null when it is a public unicast address. Accepts IPv4 (including
 * the shorthand/hex/octal notations inet_aton accepts) and IPv6 (bracketed or not, with zone,
 * compressed, with embedded dotted quad). Anything that is not an IP address is refused as 'invalid'.
 */
export function isBlockedAddress(ip: string): string | null {
  if (ip.includes(':')) {
    const groups = parseIPv6(ip);
    return groups === null ? 'invalid' : classifyIPv6(groups);
  }
  const n = parseIPv4(ip);
  return n === null ? 'invalid' : classifyIPv4(n);
}

// ---------------------------------------------------------------------------------------------
// URL check
// ---------------------------------------------------------------------------------------------

export type DestinationCheck =
  | { ok: true; url: URL }
  | { ok: false; code: 'invalid_url' | 'blocked_destination'; reason: string };

/**
 * Names refused without resolving them (unless allowPrivate):
 *  - `localhost`, `*.localhost` (RFC 6761: always loopback), `localhost.localdomain`;
 *  - `*.local` (mDNS, link-local by definition), `*.internal` (ICANN private-use TLD; also
 *    `metadata.google.internal`), `*.home.arpa` (RFC 8375 home networks).
 * Other names that happen to resolve to private addresses are caught at connect time by guardedLookup.
 */
function blockedName(host: string): string | null {
  let h = host;
  while (h.endsWith('.')) h = h.slice(0, -1);
  if (h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain') return 'loopback';
  if (h.endsWith('.local') || h.endsWith('.internal') || h === 'internal' || h.endsWith('.home.arpa')) {
    return 'private';
  }
  return null;
}

/**
 * Names of cloud metadata services, refused even with allowPrivate (their addresses are refused
 * after resolution too; the names are refused first so nothing is even resolved).
 */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog']);

function metadataName(host: string): boolean {
  let h = host;
  while (h.endsWith('.')) h = h.slice(0, -1);
  return METADATA_NAMES.has(h);
}

function isIPv4Literal(host: string): boolean {
  // After WHATWG normalisation an IPv4 host is always a canonical dotted quad.
  const last = host.charCodeAt(host.length - 1);
  return last >= 48 && last <= 57 && parseDottedQuad(host) !== null;
}

/** Validates a callback destination URL. Pure: never resolves names, never opens sockets. */
export function checkDestinationUrl(url: string, opts: { allowPrivate: boolean }): DestinationCheck {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, code: 'invalid_url', reason: 'not a valid absolute URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { ok: false, code: 'invalid_url', reason: `unsupported scheme ${JSON.stringify(u.protocol)}: only http and https are allowed` };
  }
  const host = u.hostname;
  if (host.length === 0) return { ok: false, code: 'invalid_url', reason: 'URL has no host' };

  let reason: string | null;
  if (host.charCodeAt(0) === 91 /* [ */ || isIPv4Literal(host)) {
    reason = isBlockedAddress(host);
  } else {
    reason = metadataName(host) ? 'metadata' : blockedName(host);
  }
  if (opts.allowPrivate && reason !== 'metadata') reason = null;
  if (reason !== null) {
    return { ok: false, code: 'blocked_destination', reason: `destination ${host} is not allowed (${reason})` };
  }
  return { ok: true, url: u };
}

// ---------------------------------------------------------------------------------------------
// Connect-time lookup
// ---------------------------------------------------------------------------------------------

export interface BlockedDestinationError extends Error {
  code: 'EBLOCKED';
  hostname: string;
  address: string;
  reason: string;
}

function blockedError(hostname: string, address: string, reason: string): BlockedDestinationError {
  const err = new Error(`destination ${hostname} resolves to ${address}, which is not allowed (${reason})`) as BlockedDestinationError;
  err.code = 'EBLOCKED';
  err.hostname = hostname;
  err.address = address;
  err.reason = reason;
  return err;
}

function metadataOnly(ip: string): string | null {
  return isBlockedAddress(ip) === 'metadata' ? 'metadata' : null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup`-compatible function for the `lookup` option of `net.connect` / `tls.connect`
 * (and undici's `connect` options). Resolves with `dns.lookup` and fails with an `EBLOCKED` error when
 * any resolved address is blocked, so the socket only ever connects to an address that was checked.
 * With allowPrivate only metadata addresses are blocked.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  const refusal = allowPrivate ? metadataOnly : isBlockedAddress;
  return function lookup(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void {
    let cb: LookupCallback;
    let o: LookupOptions;
    if (typeof options === 'function') {
      cb = options;
      o = {};
    } else {
      cb = callback!;
      o = typeof options === 'number' ? { family: options } : (options ?? {});
    }
    dns.lookup(hostname, o, (err, address, family) => {
      if (err) {
        cb(err, address, family);
        return;
      }
      if (Array.isArray(address)) {
        if (address.length === 0) {
          const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          e.code = 'ENOTFOUND';
          cb(e, address);
          return;
        }
        for (const a of address) {
          const reason = refusal(a.address);
          if (reason !== null) {
            cb(blockedError(hostname, a.address, reason), []);
            return;
          }
        }
        cb(null, address);
        return;
      }
      const reason = refusal(address);
      if (reason !== null) {
        cb(blockedError(hostname, address, reason), '', family);
        return;
      }
      cb(null, address, family);
    });
  } as LookupFunction;
}
