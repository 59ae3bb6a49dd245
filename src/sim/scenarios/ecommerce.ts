import type { JsonObject } from '../../core/spec/message.js';
import { allOn, sigmoid } from '../causal.js';
import { DAY, emailAsTyped, landingFor, newPerson, shareDevices, touchTimes, visit } from '../journey-kit.js';
import {
  conversionLogit,
  drawTouches,
  enterStage,
  type PersonRecord,
  record,
  type Scenario,
  type UnitResult,
  type UnitStreams,
} from '../scenario.js';
import type { SimConfig } from '../sim-config.js';
import type { Action, Device } from '../world.js';

const SITE = 'https://shop.northwind.example';
const PAGES = [
  '/',
  '/products',
  '/products/128',
  '/products/342',
  '/products/517',
  '/sale',
  '/cart',
  '/account',
] as const;
const PRODUCTS = [
  { product_id: 'sku-128', name: 'Trail Runner 2', category: 'Shoes', price: 129 },
  { product_id: 'sku-342', name: 'Merino Crew', category: 'Tops', price: 79 },
  { product_id: 'sku-517', name: 'Rain Shell', category: 'Jackets', price: 189 },
  { product_id: 'sku-733', name: 'Trail Socks (3)', category: 'Accessories', price: 24 },
] as const;

/**
 * Households of one or two shoppers: short journeys, many anonymous sessions across devices
 * before a login or checkout identifies them, first orders decided by the causal model,
 * repeat orders, returns and support chats after.
 */
export function ecommerce(config: SimConfig): Scenario {
  const channels = Object.keys(config.channels);
  const startMs = Date.parse(`${config.start}T00:00:00Z`);
  const endMs = startMs + config.days * DAY;

  function unit(index: number, size: number, { world, outcome, detail }: UnitStreams): UnitResult {
    const household = `hh_${index}`;
    const shoppers: {
      rec: PersonRecord;
      intent: number;
      first: number;
      buyAt: number;
      touches: { c: number; at: number }[];
      mask: number;
      u: number;
      basket: number;
    }[] = [];
    for (let i = 0; i < size; i++) {
      const person = newPerson(world, {
        id: `${household}.p${i}`,
        accountId: null,
        domain: world.pick(['gmail.com', 'outlook.com', 'icloud.com', 'proton.me']),
        realism: config.realism,
        kinds: ['mobile', 'desktop'],
      });
      const intent = world.normal();
      const first = startMs + world.float() * config.days * DAY;
      const buyAt = first + world.exponential(6) * DAY;
      const touches: { c: number; at: number }[] = [];
      drawTouches(config, channels, world, intent).forEach((n, c) => {
        for (const at of touchTimes(world, Math.max(n, 0), first, buyAt))
          if (at < endMs) touches.push({ c, at });
      });
      let mask = 0;
      for (const t of touches) mask |= 1 << t.c;
      shoppers.push({
        rec: record(person),
        intent,
        first,
        buyAt,
        touches,
        mask,
        u: outcome.float(),
        basket: outcome.int(1, 3),
      });
    }
    shareDevices(
      shoppers.map((s) => s.rec.person),
      world,
      config.realism,
    );

    const orderValue = (basket: number) => PRODUCTS.slice(0, basket).reduce((sum, p) => sum + p.price, 0);
    const buys = (s: (typeof shoppers)[number], onMask: number) =>
      s.touches.length > 0 &&
      s.buyAt < endMs &&
      s.u < sigmoid(conversionLogit(config, channels, s.intent, s.mask, onMask));
    const result = (onMask: number) => {
      let conversions = 0;
      let value = 0;
      for (const s of shoppers) {
        if (!buys(s, onMask)) continue;
        conversions++;
        value += orderValue(s.basket);
      }
      return { conversions, value };
    };

    const actions: Action[] = [];
    let exposedMask = 0;
    const all = allOn(channels.length);
    for (const s of shoppers) {
      exposedMask |= s.mask;
      const { person } = s.rec;
      for (const t of s.touches) {
        enterStage(s.rec, 'Awareness', t.at);
        const channel = channels[t.c] as string;
        const landing = landingFor(channel, detail, false);
        if (!landing) continue;
        const device = detail.pick(person.devices);
        const end = visit(actions, detail, {
          person,
          device,
          at: t.at,
          site: SITE,
          landing,
          channel,
          pages: PAGES,
          pageCount: detail.int(1, 6),
        });
        const product = detail.pick(PRODUCTS);
        actions.push({
          at: end,
          person,
          device,
          type: 'track',
          event: 'Product Viewed',
          properties: { ...product, currency: 'USD' },
        });
        if (detail.chance(0.3))
          actions.push({
            at: end + 20_000,
            person,
            device,
            type: 'track',
            event: 'Product Added',
            properties: { ...product, quantity: 1 },
          });
      }
      const identifyOn = (device: Device, at: number) => {
        const email = emailAsTyped(person, detail, config.realism);
        s.rec.emails.add(email);
        s.rec.identified = true;
        actions.push({
          at,
          person,
          device,
          type: 'identify',
          traits: { email, firstName: person.firstName, lastName: person.lastName },
        });
      };
      if (buys(s, all)) {
        const device = detail.pick(person.devices);
        const basket = PRODUCTS.slice(0, s.basket);
        const revenue = orderValue(s.basket);
        identifyOn(device, s.buyAt - 90_000);
        enterStage(s.rec, 'Customer', s.buyAt);
        actions.push({
          at: s.buyAt - 60_000,
          person,
          device,
          type: 'track',
          event: 'Checkout Started',
          properties: { value: revenue, currency: 'USD' },
        });
        const orderId = `ord_${index}_${s.rec.person.id.slice(-1)}_0`;
        actions.push({
          at: s.buyAt,
          person,
          device,
          type: 'track',
          event: 'Order Completed',
          properties: {
            order_id: orderId,
            revenue,
            currency: 'USD',
            products: basket.map((p) => ({ ...p, quantity: 1 })),
          },
        });
        s.rec.conversions.push({ event: 'Order Completed', at: s.buyAt, value: revenue });
        if (detail.chance(0.08))
          actions.push({
            at: s.buyAt + detail.between(3, 20) * DAY,
            person,
            device: null,
            type: 'track',
            event: 'Order Refunded',
            properties: { order_id: orderId, revenue },
          });
        if (detail.chance(0.1))
          actions.push({
            at: s.buyAt + detail.between(1, 10) * DAY,
            person,
            device: null,
            type: 'track',
            event: 'Chat Started',
            properties: { topic: detail.pick(['Delivery', 'Sizing', 'Return']) },
            channel: 'Support',
          });
        // Other devices log in later; repeat orders come back through email.
        for (const other of person.devices)
          if (other !== device && detail.chance(0.4))
            identifyOn(other, s.buyAt + detail.between(1, 30) * DAY);
        let next = s.buyAt + detail.exponential(35) * DAY;
        for (let n = 1; next < endMs && n < 6; n++) {
          const d = detail.pick(person.devices);
          visit(actions, detail, {
            person,
            device: d,
            at: next - 600_000,
            site: SITE,
            landing: landingFor('Email', detail, false) ?? { path: '/', query: [], referrer: null },
            channel: 'Email',
            pages: PAGES,
            pageCount: detail.int(1, 4),
          });
          const value = orderValue(detail.int(1, 3));
          actions.push({
            at: next,
            person,
            device: d,
            type: 'track',
            event: 'Order Completed',
            properties: {
              order_id: `ord_${index}_${s.rec.person.id.slice(-1)}_${n}`,
              revenue: value,
              currency: 'USD',
            },
          });
          s.rec.conversions.push({ event: 'Order Completed', at: next, value });
          enterStage(s.rec, 'Repeat Customer', next);
          next += detail.exponential(35) * DAY;
        }
      } else if (!detail.chance(config.realism.neverIdentifyRate) && s.touches.length > 0) {
        const last = s.touches[s.touches.length - 1] as { at: number };
        identifyOn(detail.pick(person.devices), last.at + 120_000);
        actions.push({
          at: last.at + 125_000,
          person,
          device: null,
          type: 'track',
          event: 'Newsletter Subscribed',
          properties: { list: 'weekly' },
        });
      }
    }
    const account: JsonObject | null = null;
    return { actions, people: shoppers.map((s) => s.rec), account, exposedMask, outcome: result };
  }

  return {
    channels,
    site: SITE,
    sitePages: PAGES,
    unitSize: (_i, world) => (world.chance(0.15) ? 2 : 1),
    unit,
    plantedTruth: () => ({
      null: config.null,
      note: 'ecommerce plants no patterns; first orders follow the causal channel model',
    }),
  };
}
