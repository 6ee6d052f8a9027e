import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, eventTypeByCode, resolveEventType } from '../../src/catalogue/event-types.js';

describe('event catalogue', () => {
  it('has unique names and codes', () => {
    expect(new Set(EVENT_TYPES.map((t) => t.name)).size).toBe(EVENT_TYPES.length);
    expect(new Set(EVENT_TYPES.map((t) => t.code)).size).toBe(EVENT_TYPES.length);
  });

  it("keeps EngageLab's e-mail codes", () => {
    const email = Object.fromEntries(EVENT_TYPES.filter((t) => t.channel === 'email').map((t) => [t.code, t.name]));
    expect(email).toEqual({
      1: 'email.delivered',
      3: 'email.spam_report',
      4: 'email.invalid',
      5: 'email.soft_bounce',
      10: 'email.click',
      11: 'email.open',
      12: 'email.unsubscribe',
      18: 'email.request',
      32: 'email.sent',
    });
  });

  it('names every channel of the design, with the relay events subscribable', () => {
    expect(new Set(EVENT_TYPES.map((t) => t.channel))).toEqual(new Set(['sms', 'email', 'otp', 'whatsapp', 'system', 'alert', 'relay']));
    expect(eventTypeByCode(950)?.name).toBe('callback.disabled');
    expect(eventTypeByCode(953)?.name).toBe('delivery.exhausted');
    expect(eventTypeByCode(120)?.name).toBe('sms.delivered');
  });

  it('resolves names, numeric codes and codes as text', () => {
    expect(resolveEventType('otp.verified')?.code).toBe(330);
    expect(resolveEventType(330)?.name).toBe('otp.verified');
    expect(resolveEventType('330')?.name).toBe('otp.verified');
    expect(resolveEventType('sms.nope')).toBeUndefined();
    expect(resolveEventType(7)).toBeUndefined();
  });

  it('offers template variables for every type', () => {
    for (const t of EVENT_TYPES) expect(t.variables.length).toBeGreaterThan(0);
  });
});
