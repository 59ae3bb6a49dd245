import { compact, d, email, n, ownedBy, type SourceObject, s, str, track } from './source-object.js';

/** Billing exports (and Stripe, through the same objects): subscriptions, invoices, MRR movements, cancellations. */
export const BILLING_OBJECTS: SourceObject[] = [
  {
    kind: 'billing',
    object: 'subscriptions',
    doc: 'subscriptions: Subscription Started, and Subscription Cancelled when cancelled',
    fields: {
      id: s('subscription id', true),
      customer_id: s('customer id'),
      customer_email: email('customer email'),
      account_id: s('account id'),
      plan: s('plan'),
      mrr: n('monthly recurring revenue'),
      currency: s('ISO currency code'),
      started_at: d('started', true),
      canceled_at: d('cancelled'),
    },
    owner: ownedBy('customer', 'customer_id', 'customer_email'),
    messages: (r) => {
      const props = compact({ subscription_id: r.id, plan: r.plan, mrr: r.mrr, currency: r.currency });
      const out = [track('started', r.started_at as number, 'Subscription Started', props)];
      if (r.canceled_at !== null)
        out.push(track('canceled', r.canceled_at as number, 'Subscription Cancelled', props));
      return out;
    },
  },
  {
    kind: 'billing',
    object: 'invoices',
    doc: 'paid invoices: Invoice Paid (revenue), plus Subscription Renewed for a renewal',
    fields: {
      id: s('invoice id', true),
      customer_id: s('customer id'),
      customer_email: email('customer email'),
      account_id: s('account id'),
      subscription_id: s('subscription id'),
      amount: n('amount paid', true),
      currency: s('ISO currency code'),
      billing_reason: s('why it was billed; "renewal" or Stripe\'s "subscription_cycle" marks a renewal'),
      paid_at: d('paid', true),
    },
    owner: ownedBy('customer', 'customer_id', 'customer_email'),
    messages: (r) => {
      const props = compact({
        invoice_id: r.id,
        subscription_id: r.subscription_id,
        revenue: r.amount,
        currency: r.currency,
        billing_reason: r.billing_reason,
      });
      const out = [track('paid', r.paid_at as number, 'Invoice Paid', props)];
      const reason = str(r.billing_reason)?.toLowerCase();
      if (reason === 'renewal' || reason === 'subscription_cycle')
        out.push(
          track(
            'renewed',
            r.paid_at as number,
            'Subscription Renewed',
            compact({ subscription_id: r.subscription_id, invoice_id: r.id }),
          ),
        );
      return out;
    },
  },
  {
    kind: 'billing',
    object: 'mrr',
    doc: 'MRR movements: MRR Changed (new, expansion, contraction, churn, reactivation)',
    fields: {
      id: s('movement id', true),
      customer_id: s('customer id'),
      customer_email: email('customer email'),
      account_id: s('account id'),
      mrr: n('MRR after the change', true),
      previous_mrr: n('MRR before'),
      change_type: s('new, expansion, contraction, churn or reactivation'),
      currency: s('ISO currency code'),
      changed_at: d('when', true),
    },
    owner: ownedBy('customer', 'customer_id', 'customer_email'),
    messages: (r) => [
      track(
        'mrr',
        r.changed_at as number,
        'MRR Changed',
        compact({
          mrr: r.mrr,
          previous_mrr: r.previous_mrr,
          change: r.previous_mrr === null ? null : (r.mrr as number) - (r.previous_mrr as number),
          change_type: r.change_type,
          currency: r.currency,
        }),
      ),
    ],
  },
  {
    kind: 'billing',
    object: 'cancellations',
    doc: 'cancellations: Subscription Cancelled',
    fields: {
      id: s('cancellation id', true),
      customer_id: s('customer id'),
      customer_email: email('customer email'),
      account_id: s('account id'),
      subscription_id: s('subscription id'),
      reason: s('reason given'),
      canceled_at: d('when', true),
    },
    owner: ownedBy('customer', 'customer_id', 'customer_email'),
    messages: (r) => [
      track(
        'canceled',
        r.canceled_at as number,
        'Subscription Cancelled',
        compact({ subscription_id: r.subscription_id, reason: r.reason }),
      ),
    ],
  },
];
