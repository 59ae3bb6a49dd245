import {
  compact,
  d,
  email,
  n,
  type OutMessage,
  ownedBy,
  RowError,
  type SourceObject,
  s,
  str,
  track,
} from './source-object.js';

/** CRM exports: contacts, accounts, deals and their stage history, sales activities. */
export const CRM_OBJECTS: SourceObject[] = [
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
];
