import { describe, expect, it } from 'vitest';
import { parseStripeEvent, stripeEventMessages } from './stripe-events.js';

const CREATED = Date.UTC(2026, 2, 20) / 1000;
const invoice = { id: 'in_1', customer: 'cus_1', amount_paid: 4900, currency: 'usd' };
const event = (fields: Record<string, unknown> = {}) => ({
  id: 'evt_1',
  object: 'event',
  type: 'invoice.paid',
  created: CREATED,
  data: { object: invoice },
  ...fields,
});

describe('parseStripeEvent', () => {
  it('passes a well-formed event through to mapping', () => {
    const parsed = parseStripeEvent(event());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const mapped = stripeEventMessages(parsed.value);
    expect(mapped.ok && mapped.value.messages.map((m) => m.event)).toEqual(['Invoice Paid']);
  });

  it.each([
    ['null', null, /must be an object, got null/],
    ['an array', [], /must be an object, got an array/],
    ['a string', 'evt', /must be an object, got string/],
    ['no id', event({ id: undefined }), /id must be a non-empty string, got nothing/],
    ['no type', event({ type: '' }), /evt_1: type must be a non-empty string/],
    ['created as text', event({ created: '2026-03-20' }), /created must be epoch seconds/],
    ['created past year 9999', event({ created: 1e20 }), /created must be epoch seconds/],
    ['no data', event({ data: undefined }), /data must be an object, got nothing/],
    ['data.object null', event({ data: { object: null } }), /data\.object must be an object, got null/],
    ['data.object an array', event({ data: { object: [] } }), /data\.object must be an object, got an array/],
  ])('refuses %s with the reason', (_name, value, reason) => {
    const parsed = parseStripeEvent(value);
    expect(parsed).toEqual({ ok: false, error: expect.stringMatching(reason) });
  });

  it('never throws on what JSON can hold in the mapped fields', () => {
    const odd = [null, 'x', 12, [], {}, { paid_at: 'x' }, { data: 'abc' }];
    for (const type of ['invoice.paid', 'invoice.payment_failed', 'customer.subscription.created']) {
      for (const v of odd) {
        const object = { id: 'o', customer: v, status_transitions: v, items: v, start_date: v, currency: v };
        const parsed = parseStripeEvent(event({ type, data: { object } }));
        if (!parsed.ok) throw new Error(parsed.error);
        expect(() => stripeEventMessages(parsed.value)).not.toThrow();
      }
    }
  });
});
