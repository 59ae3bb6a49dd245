import type { Condition } from './conditions.js';
import type { StageModel } from './stages.js';

/**
 * Default lifecycle models. Stage conditions may read the event (`event`, `type`,
 * `properties.*`, `context.*`), the person's traits as of that moment (`traits.*`) and the
 * journey (`touchpoint` = the event's channel when it is a touchpoint, `session_number`).
 */

const events = (...names: string[]): Condition => ({ field: 'event', op: 'in', value: names });
const npsPromoter: Condition = {
  all: [
    { field: 'event', op: 'eq', value: 'Survey Responded' },
    { field: 'properties.survey', op: 'eq', value: 'NPS' },
    { field: 'properties.score', op: 'gte', value: 9 },
  ],
};
const firstTouch: Condition = { field: 'touchpoint', op: 'present' };
const secondVisit: Condition = { field: 'session_number', op: 'gte', value: 2 };

const CUSTOMERS = ['customer', 'onboarded', 'retained', 'advocate'];

export const B2B_SAAS_STAGES: StageModel = {
  stages: [
    { id: 'awareness', name: 'Awareness', enter: [{ when: firstTouch }] },
    {
      id: 'engaged',
      name: 'Engaged',
      enter: [
        {
          when: {
            any: [
              secondVisit,
              events(
                'Newsletter Subscribed',
                'Content Downloaded',
                'Webinar Registered',
                'Webinar Attended',
                'Event Attended',
              ),
            ],
          },
        },
      ],
    },
    {
      id: 'lead',
      name: 'Lead',
      enter: [
        { when: events('Signed Up', 'Lead Created', 'Form Submitted', 'Trial Started') },
        { when: events('Deal Closed Lost'), from: ['opportunity'] },
      ],
    },
    { id: 'opportunity', name: 'Opportunity', enter: [{ when: events('Demo Requested', 'Deal Created') }] },
    {
      id: 'customer',
      name: 'Customer',
      enter: [
        { when: events('Deal Closed Won', 'Order Completed', 'Subscription Started') },
        {
          when: events('Deal Closed Won', 'Order Completed', 'Subscription Started', 'Subscription Renewed'),
          from: ['churned'],
        },
      ],
    },
    {
      id: 'onboarded',
      name: 'Onboarded',
      enter: [{ when: events('Onboarding Completed', 'Account Activated', 'Activated'), from: ['customer'] }],
    },
    {
      id: 'retained',
      name: 'Retained/Renewed',
      enter: [{ when: events('Subscription Renewed', 'Contract Renewed'), from: ['customer', 'onboarded'] }],
    },
    {
      id: 'advocate',
      name: 'Advocate',
      enter: [
        {
          when: { any: [npsPromoter, events('Referral Sent', 'Review Written')] },
          from: ['customer', 'onboarded', 'retained'],
        },
      ],
    },
    {
      id: 'churned',
      name: 'Churned',
      enter: [
        { when: events('Subscription Cancelled', 'Contract Churned', 'Account Churned'), from: CUSTOMERS },
      ],
      inactivity: { days: 180, from: CUSTOMERS },
    },
  ],
};

export const ECOMMERCE_STAGES: StageModel = {
  stages: [
    { id: 'awareness', name: 'Awareness', enter: [{ when: firstTouch }] },
    {
      id: 'engaged',
      name: 'Engaged',
      enter: [
        {
          when: {
            any: [secondVisit, events('Product Added', 'Checkout Started', 'Product Added to Wishlist')],
          },
        },
      ],
    },
    {
      id: 'lead',
      name: 'Subscriber',
      enter: [{ when: events('Signed Up', 'Newsletter Subscribed', 'Account Created') }],
    },
    { id: 'customer', name: 'Customer', enter: [{ when: events('Order Completed') }] },
    {
      id: 'repeat_customer',
      name: 'Repeat Customer',
      enter: [{ when: events('Order Completed'), from: ['customer', 'lapsed'] }],
    },
    {
      id: 'advocate',
      name: 'Advocate',
      enter: [
        {
          when: { any: [npsPromoter, events('Referral Sent', 'Review Written')] },
          from: ['customer', 'repeat_customer'],
        },
      ],
    },
    {
      id: 'lapsed',
      name: 'Lapsed',
      enter: [
        {
          when: events('Subscription Cancelled', 'Account Deleted'),
          from: ['customer', 'repeat_customer', 'advocate'],
        },
      ],
      inactivity: { days: 180, from: ['customer', 'repeat_customer', 'advocate'] },
    },
  ],
};

export const STAGE_PRESETS = { 'b2b-saas': B2B_SAAS_STAGES, ecommerce: ECOMMERCE_STAGES } as const;
export type StagePreset = keyof typeof STAGE_PRESETS;
