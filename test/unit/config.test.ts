import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBe('sqlite:./data/relay.db');
    expect(c.retrySchedule).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(c.allowPrivateNetworks).toBe(false);
    expect(c.roles).toEqual(['api', 'worker', 'scheduler']);
    expect(c.leaseMs).toBe(30_000);
  });

  it('reads RELAY_LEASE as a duration', () => {
    expect(loadConfig({ RELAY_LEASE: '2s' }).leaseMs).toBe(2_000);
    expect(loadConfig({ RELAY_LEASE: '5m' }).leaseMs).toBe(300_000);
  });

  it('reads RELAY_RETENTION as a duration: 30 days by default, 0 keeps forever', () => {
    expect(loadConfig({}).retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ RELAY_RETENTION: '7d' }).retentionMs).toBe(7 * 86_400_000);
    expect(loadConfig({ RELAY_RETENTION: '36h' }).retentionMs).toBe(36 * 3_600_000);
    expect(loadConfig({ RELAY_RETENTION: '0' }).retentionMs).toBe(0);
  });

  it('reads RELAY_RETRY_SCHEDULE in any unit', () => {
    expect(loadConfig({ RELAY_RETRY_SCHEDULE: '0s, 250ms,1m,2h,1d' }).retrySchedule).toEqual([0, 250, 60_000, 7_200_000, 86_400_000]);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be a whole number/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with sqlite: .* or postgres:\/\//],
    [{ RELAY_RETRY_SCHEDULE: '5s,soon' }, /RELAY_RETRY_SCHEDULE: not a duration: "soon"/],
    [{ RELAY_ALLOW_PRIVATE_NETWORKS: 'maybe' }, /must be 1 or 0/],
    [{ RELAY_ROLES: 'api,cook' }, /roles must be a comma list/],
    [{ RELAY_ADMIN_USER: 'admin' }, /set both RELAY_ADMIN_USER and RELAY_ADMIN_KEY/],
    [{ RELAY_ADMIN_USER: 'admin', RELAY_ADMIN_KEY: 'short' }, /at least 16 characters/],
    [{ RELAY_RETRY_SHEDULE: '1s' }, /unknown setting RELAY_RETRY_SHEDULE/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ RELAY_LEASE: '500ms' }, /RELAY_LEASE: at least 1s, got "500ms"/],
    [{ RELAY_LEASE: 'long' }, /RELAY_LEASE: not a duration/],
    [{ RELAY_RETENTION: '12h' }, /RELAY_RETENTION: 0 \(keep forever\) or at least 1d, got "12h"/],
    [{ RELAY_RETENTION: 'a month' }, /RELAY_RETENTION: not a duration/],
    [{ RELAY_TRUST_PROXY: 'nginx' }, /RELAY_TRUST_PROXY must be 0, 1 or the proxies' addresses or CIDR ranges.*"nginx" is none/],
    [{ RELAY_TRUST_PROXY: '10.0.0.0/33' }, /"10.0.0.0\/33" is none/],
    [{ RELAY_TRUST_PROXY: ',' }, /RELAY_TRUST_PROXY must be .* got none/],
  ])('refuses %o with a message that says how to fix it', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('RELAY_TRUST_PROXY: off by default; 1 trusts every peer; else a list of addresses and ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ RELAY_TRUST_PROXY: '1' }).trustProxy).toBe(true);
    expect(loadConfig({ RELAY_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
  });
});
