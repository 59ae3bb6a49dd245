import { err, ok, type Result } from '../result.js';
import type { JsonObject } from '../spec/message.js';
import { compileMapping, mapRow } from './source-mapping.js';

/**
 * Stripe webhook events → billing messages, through the same billing objects as file imports
 * (so a Stripe invoice and an exported one become the same `Invoice Paid`). Amounts are in
 * the currency's minor unit at Stripe; we divide by 100 (zero-decimal currencies excepted).
 */

export interface StripeEvent {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
}

/** Latest `created` accepted (9999-12-31): later ones cannot become a timestamp. */
const MAX_CREATED = 253_402_300_799;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : v === undefined ? 'nothing' : typeof v;

/**
 * Checks the parts of an event that mapping relies on. A signature proves who sent a body, not
 * that it is an event: a signed `null` must be a 400 with the reason, since Stripe retries 500s.
 */
export function parseStripeEvent(value: unknown): Result<StripeEvent, string> {
  if (!isRecord(value)) return err(`a Stripe event must be an object, got ${describe(value)}`);
  const { id, type, created, data } = value;
  if (typeof id !== 'string' || id === '')
    return err(`event id must be a non-empty string, got ${describe(id)}`);
  const where = `event ${id}`;
  if (typeof type !== 'string' || type === '') return err(`${where}: type must be a non-empty string`);
  if (typeof created !== 'number' || !Number.isInteger(created) || created < 0 || created > MAX_CREATED) {
    return err(`${where}: created must be epoch seconds, got ${describe(created)}`);
  }
  if (!isRecord(data)) return err(`${where}: data must be an object, got ${describe(data)}`);
  if (!isRecord(data.object))
    return err(`${where}: data.object must be an object, got ${describe(data.object)}`);
  return ok({ id, type, created, data: { object: data.object } });
}

export const HANDLED_STRIPE_EVENTS = [
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'customer.subscription.created',
  'customer.subscription.deleted',
] as const;

const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const major = (minor: unknown, currency: unknown) =>
  typeof minor === 'number' ? (ZERO_DECIMAL.has(String(currency).toLowerCase()) ? minor : minor / 100) : null;
const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
const idOf = (v: unknown) => text(v) ?? text((v as { id?: unknown } | null)?.id);

const mapping = (object: string) => {
  const m = compileMapping('billing', { object, system: 'stripe' });
  if (!m.ok) throw new Error(m.error);
  return m.value;
};
const INVOICES = mapping('invoices');
const SUBSCRIPTIONS = mapping('subscriptions');
const CANCELLATIONS = mapping('cancellations');

/**
 * The messages a Stripe event becomes: `ignored` for event types we do not map (acknowledged,
 * so Stripe stops retrying), or an error when a mapped event lacks what it needs.
 */
export function stripeEventMessages(
  event: StripeEvent,
): Result<{ messages: JsonObject[]; ignored: boolean }, string> {
  const o = event.data.object;
  const customer = idOf(o.customer);
  const mapped = (() => {
    switch (event.type) {
      case 'invoice.paid':
      case 'invoice.payment_succeeded': {
        const paidAt = (o.status_transitions as { paid_at?: number } | undefined)?.paid_at ?? event.created;
        return mapRow(
          {
            id: o.id,
            customer_id: customer,
            customer_email: text(o.customer_email),
            subscription_id: idOf(o.subscription),
            amount: major(o.amount_paid, o.currency),
            currency: text(o.currency)?.toUpperCase() ?? null,
            billing_reason: text(o.billing_reason),
            paid_at: paidAt * 1000,
          },
          INVOICES,
        );
      }
      case 'invoice.payment_failed':
        return ok([
          {
            type: 'track',
            event: 'Invoice Payment Failed',
            messageId: `stripe:invoice:${String(o.id)}:failed:${event.id}`,
            timestamp: new Date(event.created * 1000).toISOString(),
            anonymousId: `stripe:customer:${customer}`,
            properties: {
              invoice_id: String(o.id),
              amount: major(o.amount_due, o.currency),
              currency: text(o.currency)?.toUpperCase() ?? null,
            },
            context: {
              ...(text(o.customer_email) ? { traits: { email: text(o.customer_email) } } : {}),
              integration: { name: 'stripe', source: 'billing', object: 'invoices' },
            },
          } as JsonObject,
        ]);
      case 'customer.subscription.created': {
        const item = ((o.items as { data?: Record<string, unknown>[] } | undefined)?.data ?? [])[0];
        const price = (item?.price ?? item?.plan) as Record<string, unknown> | undefined;
        const monthly = (() => {
          const amount = major(price?.unit_amount ?? price?.amount, o.currency);
          if (amount === null) return null;
          const qty = typeof item?.quantity === 'number' ? item.quantity : 1;
          const rec = price?.recurring as { interval?: string; interval_count?: number } | undefined;
          const interval = rec?.interval ?? (price?.interval as string | undefined) ?? 'month';
          const count = rec?.interval_count ?? 1;
          const perMonth = { day: 30, week: 52 / 12, month: 1, year: 1 / 12 }[interval] ?? 1;
          return Math.round(((amount * qty * perMonth) / count) * 100) / 100;
        })();
        return mapRow(
          {
            id: o.id,
            customer_id: customer,
            plan: text(price?.nickname) ?? text(price?.id),
            mrr: monthly,
            currency: text(o.currency)?.toUpperCase() ?? null,
            started_at: ((o.start_date as number | undefined) ?? event.created) * 1000,
          },
          SUBSCRIPTIONS,
        );
      }
      case 'customer.subscription.deleted':
        return mapRow(
          {
            id: o.id,
            customer_id: customer,
            subscription_id: o.id,
            reason: text((o.cancellation_details as { reason?: unknown } | undefined)?.reason),
            canceled_at:
              ((o.ended_at as number | undefined) ?? (o.canceled_at as number | undefined) ?? event.created) *
              1000,
          },
          CANCELLATIONS,
        );
      default:
        return null;
    }
  })();
  if (mapped === null) return ok({ messages: [], ignored: true });
  if (!mapped.ok) return err(`${event.type} ${event.id}: ${mapped.error.message}`);
  return ok({ messages: mapped.value, ignored: false });
}
