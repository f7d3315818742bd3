/*
 * TwiML answers for an incoming call (Twilio; Telnyx TeXML reads the same verbs).
 * https://www.twilio.com/docs/voice/twiml/dial
 */

import { E164 } from '../sites/phone.ts';

/** <Dial timeout> bounds, in seconds, that both Twilio (5–600) and Telnyx TeXML (5–120) accept. */
export const DIAL_TIMEOUT_MIN_S = 5;
export const DIAL_TIMEOUT_MAX_S = 120;
/** Both carriers' default ring time. */
const DIAL_TIMEOUT_DEFAULT_S = 30;

export interface CallForward {
  /** The business's number the call rings, E.164. */
  forwardTo: string;
  /** The caller's number (the webhook's `From`), shown to the business. */
  caller: string;
  /** The tracking number called (the webhook's `To`): the caller id used when the caller's is not a number. */
  trackingNumber: string;
  /** Seconds to ring the business before giving up; clamped to 5–120. */
  ringTimeoutS: number;
  /** When set, both legs are recorded from answer and Twilio posts the finished recording here. */
  recordingStatusCallback?: string | null;
  /** Twilio requests this when the <Dial> ends, with DialCallStatus and DialCallDuration. */
  dialAction?: string | null;
  /** Twilio posts the forwarded leg's progress (initiated, ringing, answered, completed) here. */
  forwardStatusCallback?: string | null;
}

/** Forwards the call: `<Dial>` the business's number, ringing the caller until it answers. */
export function forwardTwiml(forward: CallForward): string {
  const dial: Attributes = [
    ['action', forward.dialAction],
    ['callerId', callerIdFor(forward)],
    ['answerOnBridge', 'true'],
    ['timeout', String(ringTimeout(forward.ringTimeoutS))],
  ];
  if (forward.recordingStatusCallback) {
    dial.push(
      ['record', 'record-from-answer-dual'],
      ['recordingStatusCallback', forward.recordingStatusCallback],
      ['recordingStatusCallbackEvent', 'completed'],
    );
  }
  const number: Attributes = forward.forwardStatusCallback
    ? [
        ['statusCallback', forward.forwardStatusCallback],
        ['statusCallbackEvent', 'initiated ringing answered completed'],
      ]
    : [];
  return response(element('Dial', dial, element('Number', number, text(forward.forwardTo))));
}

/**
 * For a number Ringpool does not know: <Reject> is the only answer Twilio does not pick up (so neither side pays),
 * and the caller's carrier plays its standard not-in-service message.
 */
export function rejectTwiml(): string {
  return response(element('Reject', [['reason', 'rejected']]));
}

/**
 * Twilio rejects a <Dial> whose callerId is not the calling or called number (error 13214), and carriers
 * send "anonymous", "Restricted" and the like: those calls show the tracking number instead.
 */
function callerIdFor(forward: CallForward): string {
  return E164.test(forward.caller) ? forward.caller : forward.trackingNumber;
}

function ringTimeout(seconds: number): number {
  if (!Number.isFinite(seconds)) return DIAL_TIMEOUT_DEFAULT_S;
  return Math.min(DIAL_TIMEOUT_MAX_S, Math.max(DIAL_TIMEOUT_MIN_S, Math.round(seconds)));
}

type Attributes = Array<[name: string, value: string | null | undefined]>;

function response(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`;
}

function element(name: string, attributes: Attributes, content = ''): string {
  let open = `<${name}`;
  for (const [key, value] of attributes) if (value) open += ` ${key}="${escapeAttribute(value)}"`;
  return content ? `${open}>${content}</${name}>` : `${open}/>`;
}

function text(value: string): string {
  return xmlChars(value).replace(/[&<>]/g, (c) => ENTITIES[c] ?? c);
}

function escapeAttribute(value: string): string {
  // Tabs and line breaks as references, or the parser would fold them into spaces.
  return xmlChars(value).replace(/[&<>"'\t\n\r]/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Drops the characters XML 1.0 cannot carry at all, escaped or not, so the document always parses. */
function xmlChars(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}
