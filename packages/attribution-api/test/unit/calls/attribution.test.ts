import { describe, expect, it } from 'vitest';
import {
  AFTER_RELEASE_WINDOW_MS,
  attributeCall,
  type CalledNumber,
  type Confidence,
  INTENT_WINDOW_MS,
  type LeaseCandidate,
} from '../../../src/calls/attribution.ts';
import type { LeaseState } from '../../../src/sessions/lease-lifecycle.ts';

const T0 = Date.UTC(2026, 5, 1, 12, 0);
/** A moment `minutes` (plus `ms`) after the first lease started. */
const t = (minutes: number, ms = 0) => new Date(T0 + minutes * 60_000 + ms);
const HOUR = 60;

const POOL: CalledNumber = { kind: 'pool', display: '+15550100001' };

// Session A's lease: started at 0, last seen at 10, idle timeout 30 min (active until 40),
// cooldown 15 min (reserved until 55), then released.
const leaseA: LeaseCandidate = {
  leaseId: '1',
  sessionId: 'session-a',
  startedAt: t(0),
  lastSeenAt: t(10),
  expiresAt: t(40),
  cooldownS: 15 * 60,
  endedAt: null,
  releasedAt: null,
  endReason: null,
  visit: { source: 'google', medium: 'cpc', campaign: 'spring' },
  intentAt: null,
};

function leaseB(overrides: Partial<LeaseCandidate>): LeaseCandidate {
  return {
    ...leaseA,
    leaseId: '2',
    sessionId: 'session-b',
    visit: { source: 'facebook', medium: 'social', campaign: null },
    ...overrides,
  };
}

const attribute = (at: Date, candidates: LeaseCandidate[], number: CalledNumber = POOL) =>
  attributeCall({ call: { at }, number, candidates });

describe('attributeCall: one lease, at every boundary of its life', () => {
  it.each<[string, Date, LeaseState, Confidence, string[]]>([
    ['the moment it starts', t(0), 'active', 'high', ['lease active', 'last seen 10 min after the call']],
    ['inside the lease', t(13), 'active', 'high', ['lease active', 'last seen 3 min before the call']],
    ['just before the idle timeout', t(40, -1), 'active', 'high', ['lease active', 'last seen 29 min before']],
    [
      'exactly at the idle timeout (expires_at)',
      t(40),
      'cooldown',
      'medium',
      ['lease ended as the call came in', 'cooldown', 'last seen 30 min before the call'],
    ],
    [
      'inside the cooldown',
      t(50),
      'cooldown',
      'medium',
      ['lease ended 10 min before the call', 'still reserved for this visit', 'last seen 40 min before'],
    ],
    ['just before the cooldown ends', t(55, -1), 'cooldown', 'medium', ['lease ended 14 min before the call']],
    [
      'exactly at the end of the cooldown',
      t(55),
      'released',
      'low',
      ['lease released as the call came in', 'no other visit has held the number since'],
    ],
    [
      'after the cooldown, within the window',
      t(55 + 3 * HOUR),
      'released',
      'low',
      ['lease released 3 h before the call', 'no other visit has held the number since', 'last seen 3 h 45 min'],
    ],
    ['just before the window ends', t(55 + 24 * HOUR, -1), 'released', 'low', ['released 23 h 59 min before']],
    [
      'exactly at the end of the window',
      t(55 + 24 * HOUR),
      'released',
      'none',
      ['lease released 24 h before the call', 'beyond the 24 h window'],
    ],
    ['days later', t(55 + 72 * HOUR), 'released', 'none', ['lease released 3 days before the call']],
  ])('a call %s', (_, at, phase, confidence, facts) => {
    const result = attribute(at, [leaseA]);
    expect(result.confidence).toBe(confidence);
    expect(result.candidates).toEqual([
      expect.objectContaining({ sessionId: 'session-a', leaseId: '1', phase, confidence, tapped: false }),
    ]);
    const attributed = confidence !== 'none';
    expect(result.sessionId).toBe(attributed ? 'session-a' : null);
    expect(result.leaseId).toBe(attributed ? '1' : null);
    expect(result.reason).toContain(attributed ? 'Visit from google / cpc, campaign "spring"' : 'Unattributed');
    for (const fact of facts) expect(result.reason).toContain(fact);
    expect(result.source).toBeUndefined();
  });

  it('says it in one plain line, with relative times only', () => {
    expect(attribute(t(13), [leaseA]).reason).toBe(
      'Visit from google / cpc, campaign "spring": lease active, last seen 3 min before the call',
    );
    expect(attribute(t(55 + 24 * HOUR), [leaseA]).reason).toBe(
      'Unattributed: +15550100001 was last held by a visit from google / cpc, campaign "spring"; ' +
        'lease released 24 h before the call, beyond the 24 h window',
    );
  });

  it('names the visit without a campaign when it has none', () => {
    const reason = attribute(t(13), [leaseB({})]).reason;
    expect(reason).toContain('Visit from facebook / social: lease active');
    expect(reason).not.toContain('campaign');
  });

  it('keeps the windows it documents', () => {
    expect(INTENT_WINDOW_MS).toBe(10 * 60_000);
    expect(AFTER_RELEASE_WINDOW_MS).toBe(24 * 60 * 60_000);
  });
});

describe('attributeCall: recycled numbers', () => {
  // A's lease was cut short at 20 and the number handed at once to B.
  const recycledA: LeaseCandidate = { ...leaseA, endedAt: t(20), releasedAt: t(20), endReason: 'recycled' };
  const recyclerB = leaseB({ startedAt: t(20), lastSeenAt: t(20), expiresAt: t(50) });

  it('gives the call to the old holder while it still held the number (the recycle came after the call)', () => {
    const result = attribute(t(20, -1), [recyclerB, recycledA]);
    expect(result).toMatchObject({ sessionId: 'session-a', confidence: 'high' });
    expect(result.candidates.map((c) => c.leaseId)).toEqual(['1']);
  });

  it.each([
    ['at the moment of the recycle', t(20), 'recycled to another visit as the call came in'],
    ['after the recycle', t(30), 'recycled to another visit 10 min before the call'],
  ])('gives the call to the new holder %s, and the old holder nothing', (_, at, fact) => {
    const result = attribute(at, [recyclerB, recycledA]);
    expect(result).toMatchObject({ sessionId: 'session-b', leaseId: '2', confidence: 'high' });
    expect(result.reason).toContain('Visit from facebook / social: lease active');
    expect(result.candidates[1]).toMatchObject({ sessionId: 'session-a', phase: 'released', confidence: 'none' });
    expect(result.candidates[1]?.reason).toContain(fact);
  });

  it('never makes the old holder high or medium after the recycle, even when it tapped the number', () => {
    for (const at of [t(20), t(21), t(45), t(60), t(3 * HOUR)]) {
      for (const intentAt of [null, new Date(at.getTime() - 60_000), at]) {
        for (const candidates of [[recyclerB, { ...recycledA, intentAt }], [{ ...recycledA, intentAt }]]) {
          const old = attribute(at, candidates).candidates.find((c) => c.sessionId === 'session-a');
          expect(['none', 'low']).toContain(old?.confidence);
        }
      }
    }
  });

  it('leaves the call unattributed when only the old holder is known', () => {
    const result = attribute(t(30), [recycledA]);
    expect(result).toMatchObject({ sessionId: null, leaseId: null, confidence: 'none' });
    expect(result.reason).toContain('Unattributed: +15550100001 was last held by a visit from google / cpc');
    expect(result.reason).toContain('recycled to another visit 10 min before the call');
  });

  describe('recycled during its cooldown', () => {
    const coolingA: LeaseCandidate = { ...leaseA, releasedAt: t(45), endReason: 'recycled' };
    const takerB = leaseB({ startedAt: t(45), lastSeenAt: t(45), expiresAt: t(75) });

    it.each<[string, Date, LeaseCandidate[], string | null, Confidence]>([
      ['before the recycle: the cooldown holder', t(44), [takerB, coolingA], 'session-a', 'medium'],
      ['after the recycle: the new holder', t(46), [takerB, coolingA], 'session-b', 'high'],
      ['after the recycle, new holder unknown: no one', t(46), [coolingA], null, 'none'],
    ])('a call %s', (_, at, candidates, sessionId, confidence) => {
      expect(attribute(at, candidates)).toMatchObject({ sessionId, confidence });
    });
  });
});

describe('attributeCall: several leases of the number', () => {
  it('gives the call to the active new lease over an old one whose row still reads as cooling down', () => {
    const result = attribute(t(52), [leaseB({ startedAt: t(50), lastSeenAt: t(50), expiresAt: t(80) }), leaseA]);
    expect(result).toMatchObject({ sessionId: 'session-b', confidence: 'high' });
    expect(result.candidates.map((c) => [c.sessionId, c.phase, c.confidence])).toEqual([
      ['session-b', 'active', 'high'],
      ['session-a', 'released', 'none'],
    ]);
    expect(result.candidates[1]?.reason).toContain('number leased to another visit 2 min before the call');
  });

  it('after an ordinary hand-over, gives nothing to the previous holder, whatever the order given', () => {
    const handedOverA = { ...leaseA, releasedAt: t(55) };
    const b = leaseB({ startedAt: t(60), lastSeenAt: t(60), expiresAt: t(90) });
    for (const candidates of [
      [b, handedOverA],
      [handedOverA, b],
    ]) {
      const result = attribute(t(70), candidates);
      expect(result).toMatchObject({ sessionId: 'session-b', confidence: 'high' });
      expect(result.candidates[1]).toMatchObject({ sessionId: 'session-a', confidence: 'none' });
      expect(result.candidates[1]?.reason).toContain('leased to another visit 10 min before the call');
    }
  });

  it('says so when the same visit leased the number again', () => {
    const again = { ...leaseB({ startedAt: t(60), lastSeenAt: t(60), expiresAt: t(90) }), sessionId: 'session-a' };
    const result = attribute(t(70), [again, { ...leaseA, releasedAt: t(55) }]);
    expect(result).toMatchObject({ sessionId: 'session-a', leaseId: '2', confidence: 'high' });
    expect(result.candidates[1]?.reason).toContain('leased to this visit again 10 min before the call');
  });

  it('breaks a tie in confidence in favour of the most recently started lease', () => {
    // A tapped the number after B took it over (none, raised to low); B's lease was released 2 h ago (low).
    const a = { ...leaseA, releasedAt: t(55), intentAt: t(230) };
    const b = leaseB({ startedAt: t(60), lastSeenAt: t(70), expiresAt: t(100) });
    for (const candidates of [
      [b, a],
      [a, b],
    ]) {
      const result = attribute(t(235), candidates);
      expect(result).toMatchObject({ sessionId: 'session-b', confidence: 'low' });
      expect(result.candidates.map((c) => [c.sessionId, c.confidence])).toEqual([
        ['session-b', 'low'],
        ['session-a', 'low'],
      ]);
    }
  });

  it('ignores a lease that started after the call, and counts one that started at its very moment', () => {
    const later = leaseB({ startedAt: t(13, 1), lastSeenAt: t(14), expiresAt: t(44) });
    expect(attribute(t(13), [later]).candidates).toEqual([]);
    expect(attribute(t(13), [later]).confidence).toBe('none');
    expect(attribute(t(13, 1), [later])).toMatchObject({ sessionId: 'session-b', confidence: 'high' });
  });

  it('returns candidates as plain data, ready to store as JSON', () => {
    const result = attribute(t(52), [leaseB({ startedAt: t(50), lastSeenAt: t(50), expiresAt: t(80) }), leaseA]);
    expect(JSON.parse(JSON.stringify(result.candidates))).toEqual(result.candidates);
  });
});

describe('attributeCall: call intents (taps on the swapped tel: link)', () => {
  const released = 55;
  // [case, call, tap, confidence, raised from (null: not raised), how the reason dates the tap (null: ignored)]
  it.each<[string, Date, Date, Confidence, Confidence | null, string | null]>([
    ['active, tapped 2 min before: already high', t(13), t(11), 'high', null, '2 min before the call'],
    ['cooldown, tapped exactly at the window edge', t(50), t(40), 'high', 'medium', '10 min before the call'],
    ['cooldown, tapped just outside the window', t(50), t(40, -1), 'medium', null, null],
    ['cooldown, tapped after the call', t(50), t(50, 1), 'medium', null, null],
    ['cooldown, tapped as the call came in', t(50), t(50), 'high', 'medium', 'as the call came in'],
    [
      'released within the window',
      t(released + HOUR),
      t(released + HOUR - 5),
      'medium',
      'low',
      '5 min before the call',
    ],
    ['released beyond the window', t(released + 48 * HOUR), t(released + 48 * HOUR - 3), 'low', 'none', '3 min before'],
  ])('%s', (_, at, intentAt, confidence, raisedFrom, tapWhen) => {
    const result = attribute(at, [{ ...leaseA, intentAt }]);
    expect(result).toMatchObject({ sessionId: 'session-a', confidence });
    expect(result.candidates[0]).toMatchObject({ confidence, tapped: tapWhen !== null });
    if (tapWhen) expect(result.reason).toContain(`; tapped the number ${tapWhen}`);
    else expect(result.reason).not.toContain('tapped');
    if (raisedFrom) expect(result.reason).toContain(`raising confidence from ${raisedFrom} to ${confidence}`);
    else expect(result.reason).not.toContain('raising');
  });

  it('mentions the facts the raise stands on', () => {
    const reason = attribute(t(55 + 48 * HOUR), [{ ...leaseA, intentAt: t(55 + 48 * HOUR - 3) }]).reason;
    expect(reason).toBe(
      'Visit from google / cpc, campaign "spring": lease released 2 days before the call, beyond the 24 h window; ' +
        'tapped the number 3 min before the call, raising confidence from none to low',
    );
  });
});

describe('attributeCall: numbers with no visit', () => {
  it('attributes a source-level number to its source and label, with high confidence and no session', () => {
    const number: CalledNumber = { kind: 'source', source: 'Billboard', label: 'I-95 North', display: '+15550100009' };
    const result = attribute(t(13), [leaseA], number);
    expect(result).toEqual({
      sessionId: null,
      leaseId: null,
      confidence: 'high',
      reason: expect.stringContaining('Source-level number of "Billboard" (I-95 North)'),
      candidates: [],
      source: { source: 'Billboard', label: 'I-95 North' },
    });
    expect(result.reason).toContain('the number itself identifies the source');
  });

  it('attributes a source-level number without a label to its source alone', () => {
    const number: CalledNumber = { kind: 'source', source: 'Google Ads', label: null, display: '+15550100010' };
    const result = attribute(t(13), [], number);
    expect(result).toMatchObject({ confidence: 'high', source: { source: 'Google Ads', label: null } });
    expect(result.reason).toContain('Source-level number of "Google Ads":');
  });

  it('leaves a pool number no visit has held unattributed, and says so', () => {
    expect(attribute(t(13), [])).toEqual({
      sessionId: null,
      leaseId: null,
      confidence: 'none',
      reason: 'Unattributed: no visit had held +15550100001 before the call',
      candidates: [],
    });
  });
});
