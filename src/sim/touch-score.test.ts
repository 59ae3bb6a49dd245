import { describe, expect, it } from 'vitest';
import { scoreTouches, TouchTruthReader } from './touch-score.js';

const truthOf = (...rows: string[]) => {
  const r = new TouchTruthReader();
  r.line('message_id,person_id,account_id,channel,duplicate');
  for (const row of rows) r.line(row);
  return r.truth;
};

describe('the touch score', () => {
  const truth = truthOf(
    'm1,p1,,Email,false',
    'm2,p1,,,false',
    'm3,p1,,Direct,false',
    'm3,p1,,Direct,true', // a retry: the same message delivered twice
    'm4,p2,,Paid Search,false',
    '',
  );

  it('reads the truth: distinct messages, true touches only', () => {
    expect(truth.messages).toBe(4);
    expect([...truth.channels]).toEqual([
      ['m1', 'Email'],
      ['m3', 'Direct'],
      ['m4', 'Paid Search'],
    ]);
  });

  it('is perfect for the truth itself', () => {
    const s = scoreTouches(truth, [
      { messageId: 'm1', channel: 'Email' },
      { messageId: 'm3', channel: 'Direct' },
      { messageId: 'm4', channel: 'Paid Search' },
    ]);
    expect(s).toMatchObject({
      precision: 1,
      recall: 1,
      matched: 3,
      notATouch: 0,
      wrongChannel: 0,
      missed: 0,
    });
    expect(s.confusions).toEqual([]);
  });

  it('a match needs the message id and the exact channel; each message counts once', () => {
    const s = scoreTouches(truth, [
      { messageId: 'm1', channel: 'Email' },
      { messageId: 'm1', channel: 'Email' }, // read twice (two identifiers of one person): once
      { messageId: 'm2', channel: 'Direct' }, // product activity made a touchpoint
      { messageId: 'm3', channel: 'direct' }, // the channel's spelling counts
    ]);
    expect(s).toMatchObject({
      predicted: 3,
      matched: 1,
      notATouch: 1,
      wrongChannel: 1,
      missed: 1,
      precision: 1 / 3,
      recall: 1 / 3,
    });
    expect(s.confusions).toEqual([
      { truth: '(none)', predicted: 'Direct', count: 1 },
      { truth: 'Direct', predicted: 'direct', count: 1 },
      { truth: 'Paid Search', predicted: '(none)', count: 1 },
    ]);
    expect(s.channels.find((c) => c.channel === 'Email')).toMatchObject({
      truth: 1,
      predicted: 1,
      matched: 1,
      precision: 1,
      recall: 1,
    });
    expect(s.channels.find((c) => c.channel === 'Direct')).toMatchObject({
      truth: 1,
      predicted: 1,
      matched: 0,
    });
  });

  it('nothing to find and nothing found scores 1, not NaN', () => {
    expect(scoreTouches(truthOf('m9,p9,,,false'), [])).toMatchObject({ precision: 1, recall: 1 });
  });

  it('refuses a file that is not the truth', () => {
    expect(() => new TouchTruthReader().line('personId,isBot')).toThrow(/message_id/);
  });
});
