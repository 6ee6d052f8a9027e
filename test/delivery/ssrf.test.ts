import { describe, it, expect } from 'vitest';
import { checkDestinationUrl, guardedLookup, isBlockedAddress } from '../../src/delivery/ssrf.js';
import type { LookupAddress } from 'node:dns';

// These tests are pure: nothing here opens a socket, and the only name resolved is 'localhost'.

describe('isBlockedAddress', () => {
  const blocked: Array<[string, string]> = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['10.1.2.3', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.168.0.1', 'private'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // odd IPv4 notations (inet_aton / WHATWG)
    ['127.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.0.0.1.', 'loopback'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd00::1', 'private'],
    ['FD12:3456::ABCD', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2001:db8::1', 'documentation'],
    ['2001:0db8:85a3::8a2e:370:7334', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:ec2::23', 'metadata'],
    ['fd20:ce::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['169.254.170.23', 'metadata'],
    ['192.0.0.192', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100::1', 'reserved'],
    ['::2', 'reserved'],
  ];
  it.each(blocked)('%s is blocked (%s)', (ip, reason) => {
    expect(isBlockedAddress(ip)).toBe(reason);
  });

  const allowed = [
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.3.1',
    '198.20.0.1',
    '223.255.255.255',
    '2606:2800:220:1:248:1893:25c8:1946',
    '[2606:2800:220:1:248:1893:25c8:1946]',
    '2a00:1450:4001:82a::200e',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '64:ff9b::8.8.8.8',
    '2002:5db8:d822::1',
  ];
  it.each(allowed)('%s is public', (ip) => {
    expect(isBlockedAddress(ip)).toBeNull();
  });

  it.each(['', 'example.com', '1.2.3.4.5', '256.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'gggg::1', '::ffff:1.2.3', '[::1', '12345::'])(
    'refuses non-addresses: %j',
    (s) => {
      expect(isBlockedAddress(s)).toBe('invalid');
    },
  );
});

describe('checkDestinationUrl', () => {
  const refused: Array<[string, 'invalid_url' | 'blocked_destination']> = [
    ['http://127.0.0.1/', 'blocked_destination'],
    ['http://127.1/', 'blocked_destination'],
    ['http://2130706433/', 'blocked_destination'],
    ['http://0x7f000001/', 'blocked_destination'],
    ['http://0x7f.1/', 'blocked_destination'],
    ['http://0177.0.0.1/', 'blocked_destination'],
    ['http://127.0.0.1.:8080/x', 'blocked_destination'],
    ['https://[::1]/', 'blocked_destination'],
    ['http://[::ffff:127.0.0.1]/', 'blocked_destination'],
    ['http://[::ffff:7f00:1]/', 'blocked_destination'],
    ['http://[fe80::1]/', 'blocked_destination'],
    ['http://[fd00::1]/', 'blocked_destination'],
    ['http://[::]/', 'blocked_destination'],
    ['http://[64:ff9b::7f00:1]/', 'blocked_destination'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'blocked_destination'],
    ['http://169.254.169.254/latest/meta-data/', 'blocked_destination'],
    ['http://100.64.0.1/', 'blocked_destination'],
    ['http://10.1.2.3/', 'blocked_destination'],
    ['http://172.31.255.255/', 'blocked_destination'],
    ['http://192.168.0.1/', 'blocked_destination'],
    ['http://0.0.0.0/', 'blocked_destination'],
    ['http://0/', 'blocked_destination'],
    ['http://224.0.0.1/', 'blocked_destination'],
    ['http://255.255.255.255/', 'blocked_destination'],
    ['http://localhost/', 'blocked_destination'],
    ['http://LOCALHOST:3000/', 'blocked_destination'],
    ['http://localhost./', 'blocked_destination'],
    ['http://api.localhost/', 'blocked_destination'],
    ['http://printer.local/', 'blocked_destination'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'blocked_destination'],
    ['http://router.home.arpa/', 'blocked_destination'],
    ['ftp://example.com/', 'invalid_url'],
    ['file:///etc/passwd', 'invalid_url'],
    ['javascript:alert(1)', 'invalid_url'],
    ['data:text/plain,hi', 'invalid_url'],
    ['gopher://example.com/', 'invalid_url'],
    ['not-a-url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
    ['', 'invalid_url'],
    ['http://', 'invalid_url'],
    ['http://1.2.3.4.5/', 'invalid_url'],
    ['http://[::1/', 'invalid_url'],
  ];
  it.each(refused)('%j is refused as %s', (url, code) => {
    const r = checkDestinationUrl(url, { allowPrivate: false });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.reason.length).toBeGreaterThan(0);
    }
  });

  it.each([
    'http://93.184.216.34/hook',
    'https://93.184.216.34:8443/hook?x=1',
    'https://[2606:2800:220:1:248:1893:25c8:1946]/hook',
    'https://example.com/webhooks',
    'http://example.com/plain-http-is-fine-for-public-hosts',
    'https://hooks.example.co.uk:9000/a/b?c=d#frag',
    'https://localhost.example.com/',
  ])('%s is accepted (pure check, no traffic)', (url) => {
    const r = checkDestinationUrl(url, { allowPrivate: false });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url).toBeInstanceOf(URL);
  });

  it('returns the normalised URL', () => {
    const r = checkDestinationUrl('HTTP://Example.COM:80/a?b=1', { allowPrivate: false });
    expect(r.ok && r.url.href).toBe('http://example.com/a?b=1');
  });

  it('allowPrivate accepts loopback and private destinations, still refuses bad schemes', () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://127.1/', 'http://[::1]:9/', 'http://localhost:3000/', 'http://10.0.0.1/']) {
      expect(checkDestinationUrl(url, { allowPrivate: true }).ok).toBe(true);
    }
    const r = checkDestinationUrl('ftp://127.0.0.1/', { allowPrivate: true });
    expect(r.ok === false && r.code).toBe('invalid_url');
  });

  // RELAY_ALLOW_PRIVATE_NETWORKS is for local receivers; the host's credentials stay out of reach.
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.43518/latest/meta-data/', // 169.254.169.254 in shorthand
    'http://0xa9fea9fe/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fd20:ce::254]/',
    'http://100.100.100.200/latest/meta-data/',
    'http://169.254.170.2/v2/credentials/x',
    'http://169.254.170.23/v1/credentials',
    'http://192.0.0.192/opc/v2/instance/',
    'http://168.63.129.16/machine/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.google.internal./computeMetadata/v1/',
    'http://metadata.goog/computeMetadata/v1/',
  ])('allowPrivate still refuses the metadata endpoint %s', (url) => {
    const r = checkDestinationUrl(url, { allowPrivate: true });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('blocked_destination');
      expect(r.reason).toContain('metadata');
    }
  });

  it('allowPrivate still allows the rest of link-local and private ranges', () => {
    for (const url of ['http://169.254.1.1/', 'http://[fd00::1]/', 'http://100.64.0.1/', 'http://192.0.0.8/', 'http://printer.local/', 'http://other.internal/']) {
      expect(checkDestinationUrl(url, { allowPrivate: true }).ok).toBe(true);
    }
  });
});

describe('guardedLookup', () => {
  type Cb = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
  const run = (allowPrivate: boolean, host: string, options: { all?: boolean; family?: number }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family: number | undefined }>((resolve) => {
      const cb: Cb = (err, address, family) => resolve({ err, address, family });
      guardedLookup(allowPrivate)(host, options, cb);
    });

  it('refuses localhost with EBLOCKED (single form)', async () => {
    const r = await run(false, 'localhost', {});
    expect(r.err).not.toBeNull();
    expect(r.err?.code).toBe('EBLOCKED');
    expect(r.err?.message).toContain('localhost');
    expect(r.err?.message).toMatch(/127\.0\.0\.1|::1/);
    expect(r.err?.message).toContain('loopback');
  });

  it('refuses localhost with EBLOCKED (all form)', async () => {
    const r = await run(false, 'localhost', { all: true });
    expect(r.err?.code).toBe('EBLOCKED');
  });

  it('refuses IP literals handed to it', async () => {
    const r = await run(false, '10.0.0.1', { all: true });
    expect(r.err?.code).toBe('EBLOCKED');
    expect(r.err?.message).toContain('private');
  });

  it('with allowPrivate resolves localhost to loopback', async () => {
    const single = await run(true, 'localhost', { family: 4 });
    expect(single.err).toBeNull();
    expect(single.address).toBe('127.0.0.1');
    expect(single.family).toBe(4);
    const all = await run(true, 'localhost', { all: true });
    expect(all.err).toBeNull();
    expect(Array.isArray(all.address)).toBe(true);
    for (const a of all.address as LookupAddress[]) expect(['127.0.0.1', '::1']).toContain(a.address);
  });

  it('with allowPrivate still refuses metadata addresses (resolved locally, no traffic)', async () => {
    for (const ip of ['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2', '192.0.0.192']) {
      for (const options of [{}, { all: true }]) {
        const r = await run(true, ip, options);
        expect(r.err?.code).toBe('EBLOCKED');
        expect(r.err?.message).toContain('metadata');
      }
    }
    expect((await run(true, '10.0.0.1', { all: true })).err).toBeNull();
  });

  it('passes public addresses through (IP literal, resolved locally without DNS traffic)', async () => {
    const r = await run(false, '93.184.216.34', { all: true });
    expect(r.err).toBeNull();
    expect(r.address).toEqual([{ address: '93.184.216.34', family: 4 }]);
    const one = await run(false, '93.184.216.34', {});
    expect(one.err).toBeNull();
    expect(one.address).toBe('93.184.216.34');
  });
});
