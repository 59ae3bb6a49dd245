import type { JsonObject } from '../spec/message.js';

/**
 * Offline sources: what a CRM, support desk, billing system, survey tool or ad platform export
 * holds, as canonical records, and the Segment messages each record becomes. Event names reuse
 * Segment's spec names where one exists (docs/events.md lists them all).
 */

export const SOURCE_KINDS = ['crm', 'support', 'billing', 'survey', 'ad-spend'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export type FieldType = 'string' | 'number' | 'date' | 'email';

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  doc: string;
}

/** A record after mapping and parsing: canonical field → value (dates as epoch ms). */
export type CanonicalRecord = Record<string, string | number | null>;

/** One message to send, before the system/object/id prefix is added to its messageId. */
export interface OutMessage {
  /** Suffix that makes the messageId unique per record (`created`, `closed`…). */
  key: string;
  at: number;
  message: JsonObject;
}

export interface Owner {
  kind: string;
  id: string | null;
  email: string | null;
  account: string | null;
}

export interface SourceObject {
  kind: SourceKind;
  object: string;
  doc: string;
  fields: Record<string, FieldSpec>;
  /** The messages for one record (the owner's identity is added by the caller). */
  messages(r: CanonicalRecord): OutMessage[];
  /**
   * Who the record is about: an owner of a kind (`contact`, `customer`…) with an id (the
   * anonymousId is `<system>:<kind>:<id>`, the same for every object of that owner), an email,
   * an account.
   */
  owner(r: CanonicalRecord): Owner;
}

const s = (doc: string, required = false): FieldSpec => ({ type: 'string', doc, required });
const n = (doc: string, required = false): FieldSpec => ({ type: 'number', doc, required });
const d = (doc: string, required = false): FieldSpec => ({ type: 'date', doc, required });
const email = (doc: string, required = false): FieldSpec => ({ type: 'email', doc, required });

const str = (v: string | number | null | undefined) => (v === null || v === undefined ? null : String(v));
/** Drops nulls so messages carry only what the row had. */
const compact = (o: Record<string, string | number | null | undefined>): JsonObject => {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v;
  return out;
};
const track = (key: string, at: number, event: string, properties: JsonObject): OutMessage => ({
  key,
  at,
  message: { type: 'track', event, properties },
});

const ownedBy =
  (kind: string, idField: string, emailField: string) =>
  (r: CanonicalRecord): Owner => ({
    kind,
    id: str(r[idField]),
    email: str(r[emailField]),
    account: str(r.account_id),
  });

export const SOURCE_OBJECTS: SourceObject[] = [
  {
    kind: 'crm',
    object: 'contacts',
    doc: 'people in the CRM: an identify call with their traits (and a group call for their account)',
    fields: {
      id: s('contact id', true),
      email: email('email address'),
      first_name: s('first name'),
      last_name: s('last name'),
      phone: s('phone number'),
      title: s('job title'),
      account_id: s('account (company) id'),
      lifecycle_stage: s('the CRM lifecycle stage'),
      lead_source: s('lead source'),
      created_at: d('created', true),
      updated_at: d('last updated'),
    },
    owner: ownedBy('contact', 'id', 'email'),
    messages: (r) => {
      const at = (r.updated_at ?? r.created_at) as number;
      const traits = compact({
        email: r.email,
        firstName: r.first_name,
        lastName: r.last_name,
        phone: r.phone,
        title: r.title,
        lifecycle_stage: r.lifecycle_stage,
        lead_source: r.lead_source,
        createdAt: new Date(r.created_at as number).toISOString(),
      });
      const out: OutMessage[] = [{ key: 'identify', at, message: { type: 'identify', traits } }];
      if (r.account_id !== null)
        out.push({ key: 'group', at, message: { type: 'group', groupId: String(r.account_id) } });
      return out;
    },
  },
  {
    kind: 'crm',
    object: 'accounts',
    doc: 'companies: a group call with their traits',
    fields: {
      id: s('account id', true),
      name: s('company name'),
      domain: s('website domain'),
      industry: s('industry'),
      employees: n('number of employees'),
      plan: s('plan'),
      created_at: d('created', true),
      updated_at: d('last updated'),
    },
    owner: (r) => ({ kind: 'account', id: str(r.id), email: null, account: str(r.id) }),
    messages: (r) => [
      {
        key: 'group',
        at: (r.updated_at ?? r.created_at) as number,
        message: {
          type: 'group',
          groupId: String(r.id),
          traits: compact({
            name: r.name,
            website: r.domain,
            industry: r.industry,
            employees: r.employees,
            plan: r.plan,
          }),
        },
      },
    ],
  },
  {
    kind: 'crm',
    object: 'deals',
    doc: 'opportunities: Deal Created, then Deal Closed Won or Deal Closed Lost when closed',
    fields: {
      id: s('deal id', true),
      name: s('deal name'),
      account_id: s('account id'),
      contact_id: s('primary contact id'),
      contact_email: email('primary contact email'),
      amount: n('amount'),
      currency: s('ISO currency code'),
      stage: s('current stage'),
      status: s('open, won or lost (map your values with "values")'),
      created_at: d('created', true),
      closed_at: d('closed (required when status is won or lost)'),
    },
    owner: ownedBy('contact', 'contact_id', 'contact_email'),
    messages: (r) => {
      const props = compact({
        deal_id: r.id,
        deal_name: r.name,
        amount: r.amount,
        currency: r.currency,
        stage: r.stage,
      });
      const out = [track('created', r.created_at as number, 'Deal Created', props)];
      const status = str(r.status)?.toLowerCase();
      if (status === 'won' || status === 'lost') {
        if (r.closed_at === null) throw new RowError('closed_at', `a ${status} deal needs a close date`);
        out.push(
          track(
            'closed',
            r.closed_at as number,
            status === 'won' ? 'Deal Closed Won' : 'Deal Closed Lost',
            props,
          ),
        );
      }
      return out;
    },
  },
  {
    kind: 'crm',
    object: 'deal_stages',
    doc: 'deal stage history: Deal Stage Changed (Deal Closed Won / Lost for the won and lost stages)',
    fields: {
      id: s('change id (or any unique row id)', true),
      deal_id: s('deal id', true),
      account_id: s('account id'),
      contact_id: s('primary contact id'),
      contact_email: email('primary contact email'),
      stage: s('the new stage; map won and lost stages to "won" / "lost" with "values"', true),
      amount: n('amount at this stage'),
      currency: s('ISO currency code'),
      changed_at: d('when the stage changed', true),
    },
    owner: ownedBy('contact', 'contact_id', 'contact_email'),
    messages: (r) => {
      const stage = String(r.stage);
      const event =
        stage.toLowerCase() === 'won'
          ? 'Deal Closed Won'
          : stage.toLowerCase() === 'lost'
            ? 'Deal Closed Lost'
            : 'Deal Stage Changed';
      return [
        track(
          'stage',
          r.changed_at as number,
          event,
          compact({ deal_id: r.deal_id, stage, amount: r.amount, currency: r.currency }),
        ),
      ];
    },
  },
  {
    kind: 'crm',
    object: 'activities',
    doc: 'sales activities: Sales Call Completed, Sales Meeting Held, Sales Email Sent',
    fields: {
      id: s('activity id', true),
      type: s('call, meeting or email', true),
      contact_id: s('contact id'),
      contact_email: email('contact email'),
      account_id: s('account id'),
      subject: s('subject'),
      owner: s('sales rep'),
      duration_minutes: n('duration in minutes'),
      occurred_at: d('when it happened', true),
    },
    owner: ownedBy('contact', 'contact_id', 'contact_email'),
    messages: (r) => {
      const type = String(r.type).toLowerCase();
      const event = {
        call: 'Sales Call Completed',
        meeting: 'Sales Meeting Held',
        email: 'Sales Email Sent',
      }[type];
      if (!event)
        throw new RowError(
          'type',
          `activity type must be call, meeting or email, not ${JSON.stringify(r.type)}`,
        );
      return [
        track(
          'activity',
          r.occurred_at as number,
          event,
          compact({
            activity_id: r.id,
            subject: r.subject,
            rep: r.owner,
            duration_minutes: r.duration_minutes,
          }),
        ),
      ];
    },
  },
  {
    kind: 'support',
    object: 'tickets',
    doc: 'support tickets: Ticket Created, and Ticket Resolved when solved',
    fields: {
      id: s('ticket id', true),
      requester_email: email('requester email', true),
      account_id: s('account id'),
      subject: s('subject'),
      priority: s('priority'),
      channel: s('email, chat, phone…'),
      created_at: d('opened', true),
      solved_at: d('solved'),
    },
    owner: (r) => ({ kind: 'contact', id: null, email: str(r.requester_email), account: str(r.account_id) }),
    messages: (r) => {
      const props = compact({
        ticket_id: r.id,
        subject: r.subject,
        priority: r.priority,
        channel: r.channel,
      });
      const out = [track('created', r.created_at as number, 'Ticket Created', props)];
      if (r.solved_at !== null) out.push(track('solved', r.solved_at as number, 'Ticket Resolved', props));
      return out;
    },
  },
  {
    kind: 'support',
    object: 'csat',
    doc: 'satisfaction ratings: Survey Responded with survey "CSAT"',
    fields: {
      id: s('rating id', true),
      requester_email: email('who rated', true),
      ticket_id: s('ticket id'),
      score: n('the score (e.g. 1–5)', true),
      comment: s('comment'),
      responded_at: d('when', true),
    },
    owner: (r) => ({ kind: 'contact', id: null, email: str(r.requester_email), account: null }),
    messages: (r) => [
      track(
        'csat',
        r.responded_at as number,
        'Survey Responded',
        compact({ survey: 'CSAT', score: r.score, ticket_id: r.ticket_id, comment: r.comment }),
      ),
    ],
  },
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
  {
    kind: 'survey',
    object: 'nps',
    doc: 'NPS answers: Survey Responded with survey "NPS" (0–10)',
    fields: {
      id: s('response id', true),
      email: email('respondent email', true),
      score: n('0–10', true),
      comment: s('comment'),
      how_did_you_hear: s('answer to "how did you hear about us?", if asked'),
      responded_at: d('when', true),
    },
    owner: (r) => ({ kind: 'contact', id: null, email: str(r.email), account: null }),
    messages: (r) => {
      const score = r.score as number;
      if (!Number.isInteger(score) || score < 0 || score > 10)
        throw new RowError('score', `an NPS score is 0–10, not ${score}`);
      return [
        track(
          'nps',
          r.responded_at as number,
          'Survey Responded',
          compact({ survey: 'NPS', score, comment: r.comment, how_did_you_hear: r.how_did_you_hear }),
        ),
      ];
    },
  },
  {
    kind: 'ad-spend',
    object: 'daily',
    doc: 'daily cost per channel and campaign: Ad Spend Reported, on the system identity "<system>:system:ad-spend"',
    fields: {
      date: d('the day', true),
      source: s('ad platform (google, linkedin…)', true),
      medium: s('cpc, paid_social…'),
      channel: s('channel name, if the platform gives one'),
      campaign: s('campaign name', true),
      cost: n('spend', true),
      currency: s('ISO currency code'),
      impressions: n('impressions'),
      clicks: n('clicks'),
    },
    owner: () => ({ kind: 'system', id: 'ad-spend', email: null, account: null }),
    messages: (r) => [
      track(
        `${r.source}:${r.campaign}`,
        r.date as number,
        'Ad Spend Reported',
        compact({
          date: new Date(r.date as number).toISOString().slice(0, 10),
          source: r.source,
          medium: r.medium,
          channel: r.channel,
          campaign: r.campaign,
          cost: r.cost,
          currency: r.currency,
          impressions: r.impressions,
          clicks: r.clicks,
        }),
      ),
    ],
  },
];

/** A row that cannot become messages: which field, and why. */
export class RowError extends Error {
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

export function sourceObject(kind: SourceKind, object: string): SourceObject | undefined {
  return SOURCE_OBJECTS.find((o) => o.kind === kind && o.object === object);
}
