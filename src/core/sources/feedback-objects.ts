import { compact, d, email, n, RowError, type SourceObject, s, str, track } from './source-object.js';

/** Support desk and survey exports: tickets, CSAT ratings, NPS answers; and daily ad spend. */
export const FEEDBACK_OBJECTS: SourceObject[] = [
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
