import { SaxesParser } from 'saxes';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { type CallForward, forwardTwiml, rejectTwiml } from '../../../src/calls/twiml.ts';

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: Array<XmlElement | string>;
}

/** Parses with a strict XML 1.0 parser (it throws on any well-formedness error) into a plain tree. */
function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser();
  const root: XmlElement = { name: '#document', attributes: {}, children: [] };
  const open: XmlElement[] = [root];
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: tag.attributes as Record<string, string>, children: [] };
    open.at(-1)?.children.push(element);
    open.push(element);
  });
  parser.on('closetag', () => open.pop());
  parser.on('text', (text) => open.at(-1)?.children.push(text));
  parser.write(xml).close();
  const [response, ...rest] = root.children;
  if (typeof response !== 'object' || rest.length > 0) throw new Error('expected one root element');
  return response;
}

const FORWARD: CallForward = {
  forwardTo: '+12015550123',
  caller: '+14155550199',
  trackingNumber: '+12015550100',
  ringTimeoutS: 25,
};

describe('forwardTwiml', () => {
  it('dials the business, passing the caller id through and ringing the caller until it answers', () => {
    const xml = forwardTwiml(FORWARD);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(parseXml(xml)).toEqual({
      name: 'Response',
      attributes: {},
      children: [
        {
          name: 'Dial',
          attributes: { callerId: '+14155550199', answerOnBridge: 'true', timeout: '25' },
          children: [{ name: 'Number', attributes: {}, children: ['+12015550123'] }],
        },
      ],
    });
  });

  it('records both legs from answer and asks for the recording when a callback is given', () => {
    const xml = forwardTwiml({
      ...FORWARD,
      recordingStatusCallback: 'https://calls.example.com/v1/twilio/recording',
      dialAction: 'https://calls.example.com/v1/twilio/dial-ended',
      forwardStatusCallback: 'https://calls.example.com/v1/twilio/forward-status',
    });
    const [dial] = parseXml(xml).children as XmlElement[];
    expect(dial?.attributes).toEqual({
      action: 'https://calls.example.com/v1/twilio/dial-ended',
      callerId: '+14155550199',
      answerOnBridge: 'true',
      timeout: '25',
      record: 'record-from-answer-dual',
      recordingStatusCallback: 'https://calls.example.com/v1/twilio/recording',
      recordingStatusCallbackEvent: 'completed',
    });
    expect(dial?.children).toEqual([
      {
        name: 'Number',
        attributes: {
          statusCallback: 'https://calls.example.com/v1/twilio/forward-status',
          statusCallbackEvent: 'initiated ringing answered completed',
        },
        children: ['+12015550123'],
      },
    ]);
  });

  it("writes what twilio-node's VoiceResponse writes", () => {
    const forward = {
      ...FORWARD,
      recordingStatusCallback: 'https://calls.example.com/v1/twilio/recording?site=s_1&x=1',
      dialAction: 'https://calls.example.com/v1/twilio/dial-ended',
      forwardStatusCallback: 'https://calls.example.com/v1/twilio/forward-status',
    };
    const response = new twilio.twiml.VoiceResponse();
    response
      .dial({
        action: forward.dialAction,
        callerId: forward.caller,
        answerOnBridge: true,
        timeout: forward.ringTimeoutS,
        record: 'record-from-answer-dual',
        recordingStatusCallback: forward.recordingStatusCallback,
        recordingStatusCallbackEvent: ['completed'],
      })
      .number(
        {
          statusCallback: forward.forwardStatusCallback,
          statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        },
        forward.forwardTo,
      );
    expect(parseXml(forwardTwiml(forward))).toEqual(parseXml(response.toString()));
  });

  it('escapes every attribute and text, so the document parses and the values come back intact', () => {
    const nasty = `https://calls.example.com/cb?a=1&b=<2>&c="3"&d='4'&e=\t\n`;
    const xml = forwardTwiml({
      ...FORWARD,
      forwardTo: '+1 <201> & "555"',
      trackingNumber: `+1"/><Hangup/><x a="`,
      caller: 'anonymous',
      recordingStatusCallback: nasty,
      dialAction: nasty,
      forwardStatusCallback: nasty,
    });
    expect(xml).not.toMatch(/<Hangup/);
    const [dial] = parseXml(xml).children as XmlElement[];
    expect(dial?.attributes.callerId).toBe(`+1"/><Hangup/><x a="`);
    expect(dial?.attributes.action).toBe(nasty);
    expect(dial?.attributes.recordingStatusCallback).toBe(nasty);
    expect(dial?.children).toEqual([
      {
        name: 'Number',
        attributes: { statusCallback: nasty, statusCallbackEvent: 'initiated ringing answered completed' },
        children: ['+1 <201> & "555"'],
      },
    ]);
  });

  it('drops characters XML cannot carry instead of writing a document Twilio cannot read', () => {
    const xml = forwardTwiml({ ...FORWARD, dialAction: 'https://x.test/\u0000a\u001Fb\uFFFE' });
    const [dial] = parseXml(xml).children as XmlElement[];
    expect(dial?.attributes.action).toBe('https://x.test/ab');
  });

  it.each([['anonymous'], ['Restricted'], ['+266696687 '], ['12015550199'], ['']])(
    'shows the tracking number when the caller id %j is not a number',
    (caller) => {
      const [dial] = parseXml(forwardTwiml({ ...FORWARD, caller })).children as XmlElement[];
      expect(dial?.attributes.callerId).toBe('+12015550100');
    },
  );

  it.each([
    [0, '5'],
    [4.4, '5'],
    [30, '30'],
    [44.6, '45'],
    [120, '120'],
    [600, '120'],
    [Number.NaN, '30'],
  ])('keeps a ring timeout of %s inside what Twilio and Telnyx both allow (%s)', (ringTimeoutS, timeout) => {
    const [dial] = parseXml(forwardTwiml({ ...FORWARD, ringTimeoutS })).children as XmlElement[];
    expect(dial?.attributes.timeout).toBe(timeout);
  });
});

describe('rejectTwiml', () => {
  it('rejects the call without answering it, as twilio-node writes it', () => {
    const response = new twilio.twiml.VoiceResponse();
    response.reject({ reason: 'rejected' });
    expect(rejectTwiml()).toBe(response.toString());
    expect(parseXml(rejectTwiml())).toEqual({
      name: 'Response',
      attributes: {},
      children: [{ name: 'Reject', attributes: { reason: 'rejected' }, children: [] }],
    });
  });
});
