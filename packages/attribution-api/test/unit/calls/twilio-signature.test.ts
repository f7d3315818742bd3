import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { type FormPair, parseForm } from '../../../src/calls/providers/form.ts';
import { isValidTwilioSignature, twilioSignature, twilioSigningPayload } from '../../../src/calls/providers/twilio.ts';

// The official helper library is the oracle: whatever it signs, we accept; whatever it rejects, we reject.

const TOKEN = '0f9c2ab5e1d84c7fa3b6e2d1c8f04a77';
const VOICE_URL = 'https://calls.example.com/v1/twilio/voice';

function form(body: string): FormPair[] {
  const parsed = parseForm(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.pairs;
}

/** The body as express.urlencoded hands it to twilio-node: a repeated name's values in an array. */
function expressBody(pairs: readonly FormPair[]): Record<string, string | string[]> {
  const body: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const seen = body[name];
    body[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return body;
}

const twilioSigns = (url: string, pairs: readonly FormPair[], token = TOKEN) =>
  twilio.getExpectedTwilioSignature(token, url, expressBody(pairs));
const twilioAccepts = (signature: string | undefined, url: string, pairs: readonly FormPair[], token = TOKEN) =>
  twilio.validateRequest(token, signature ?? '', url, expressBody(pairs));

const VOICE = form(
  'AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA9f8e7d6c5b4a39281706f5e4d3c2b1a0' +
    '&CallStatus=ringing&Called=%2B12015550100&Caller=%2B14155550199&CallerName=Jane+O%27Brien&Direction=inbound' +
    '&From=%2B14155550199&FromCity=SAN+FRANCISCO&To=%2B12015550100&ToCity=HOBOKEN',
);

const BODIES: Record<string, FormPair[]> = {
  'a voice webhook': VOICE,
  'repeated keys': form('b=1&a=2&a=1&a=2&c=&c=x'),
  'characters needing encoding': form(
    'Name=Jane+Doe&Plus=%2B1+%2B2&Amp=a%26b&Eq=x%3Dy&Pct=100%25&Uni=Z%C3%BCrich+%F0%9F%93%9E&Empty=&Nl=a%0Ab',
  ),
  'names differing in case and by prefix': form('b=1&B=2&a=3&A=4&To=5&ToCity=6&ToC=7&_=8&%C3%A9=9'),
  'no parameters': [],
};

describe('twilioSignature', () => {
  it("matches the worked example in Twilio's helper-library docs", () => {
    const pairs = form(
      'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212',
    );
    expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', pairs)).toBe(
      '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
    );
  });

  it('signs the URL then names and values sorted, a repeated name once per distinct value', () => {
    expect(twilioSigningPayload('https://x.test/v', form('b=2&a=z&a=1&a=z&B=0'))).toBe('https://x.test/vB0a1azb2');
  });

  it.each(Object.entries(BODIES))('agrees with twilio-node for %s', (_, pairs) => {
    for (const url of [VOICE_URL, 'http://localhost:3000/v1/twilio/voice?site=s_1&x=a%20b']) {
      expect(twilioSignature(TOKEN, url, pairs)).toBe(twilioSigns(url, pairs));
    }
  });
});

describe('isValidTwilioSignature', () => {
  it.each([
    ['https, as configured', VOICE_URL, VOICE_URL],
    ['https, signed with :443, received without', 'https://calls.example.com:443/v1/twilio/voice', VOICE_URL],
    ['https, signed without a port, received with :443', VOICE_URL, 'https://calls.example.com:443/v1/twilio/voice'],
    ['http, signed with :80, received without', 'http://calls.example.com:80/voice', 'http://calls.example.com/voice'],
    [
      'http, signed without a port, received with :80',
      'http://calls.example.com/voice',
      'http://calls.example.com:80/voice',
    ],
    ['a non-default port', 'https://calls.example.com:8443/voice', 'https://calls.example.com:8443/voice'],
    ['a non-default port Twilio left out', 'https://calls.example.com/voice', 'https://calls.example.com:8443/voice'],
    ['a query string', `${VOICE_URL}?site=s_1&ref=a%20b`, `${VOICE_URL}?site=s_1&ref=a%20b`],
    ['a query with :443', `https://calls.example.com:443/v?site=s_1`, 'https://calls.example.com/v?site=s_1'],
    [
      'a quote signed escaped',
      'https://calls.example.com/v?name=O%27Brien',
      "https://calls.example.com/v?name=O'Brien",
    ],
    [
      'a quote signed as typed',
      "https://calls.example.com/v?name=O'Brien",
      'https://calls.example.com/v?name=O%27Brien',
    ],
    ['an upper-case host', VOICE_URL, 'https://Calls.Example.COM/v1/twilio/voice'],
    ['a unicode query', `${VOICE_URL}?city=Z%C3%BCrich`, `${VOICE_URL}?city=Z%C3%BCrich`],
    ['an IPv6 host with a port', 'http://[::1]:3000/voice', 'http://[::1]:3000/voice'],
  ])('accepts a signature over %s', (_, signedUrl, receivedUrl) => {
    for (const pairs of Object.values(BODIES)) {
      const signature = twilioSigns(signedUrl, pairs);
      expect(twilioAccepts(signature, receivedUrl, pairs)).toBe(true);
      expect(isValidTwilioSignature(TOKEN, signature, receivedUrl, pairs)).toBe(true);
    }
  });

  const signature = twilioSigns(VOICE_URL, VOICE);
  const without = (name: string) => VOICE.filter(([n]) => n !== name);
  const replaced = (name: string, value: string) => VOICE.map(([n, v]): FormPair => [n, n === name ? value : v]);

  it.each<[string, { url?: string; pairs?: FormPair[]; token?: string; header?: string | undefined }]>([
    ['a changed value', { pairs: replaced('CallStatus', 'completed') }],
    ['a changed caller', { pairs: replaced('From', '+14155550100') }],
    ['an added parameter', { pairs: [...VOICE, ['Extra', '1']] }],
    ['an added empty parameter', { pairs: [...VOICE, ['Extra', '']] }],
    ['a second value for a name', { pairs: [...VOICE, ['To', '+12015550101']] }],
    ['a removed parameter', { pairs: without('CallerName') }],
    ['a different path', { url: 'https://calls.example.com/v1/twilio/status' }],
    ['a different host', { url: 'https://evil.example.com/v1/twilio/voice' }],
    ['a different scheme', { url: 'http://calls.example.com/v1/twilio/voice' }],
    ['an added query', { url: `${VOICE_URL}?site=s_1` }],
    ['a trailing slash', { url: `${VOICE_URL}/` }],
    ['the wrong auth token', { token: 'ffffffffffffffffffffffffffffffff' }],
    ['no signature', { header: undefined }],
    ['an empty signature', { header: '' }],
    ['a truncated signature', { header: signature.slice(0, -2) }],
    ['a signature with a space after it', { header: `${signature} ` }],
    ['a signature in another case', { header: signature.toLowerCase() }],
  ])('rejects %s, as twilio-node does', (_, change) => {
    const url = change.url ?? VOICE_URL;
    const pairs = change.pairs ?? VOICE;
    const token = change.token ?? TOKEN;
    const header = 'header' in change ? change.header : signature;
    expect(twilioAccepts(header, url, pairs, token)).toBe(false);
    expect(isValidTwilioSignature(token, header, url, pairs)).toBe(false);
  });

  it('accepts a value repeated identically as if sent once, as twilio-node does', () => {
    const pairs = [...VOICE, ['CallStatus', 'ringing'] as const];
    expect(twilioAccepts(signature, VOICE_URL, pairs)).toBe(true);
    expect(isValidTwilioSignature(TOKEN, signature, VOICE_URL, pairs)).toBe(true);
  });

  it('cannot tell a name from its value where they meet: the signed string has no separators', () => {
    const shifted: FormPair[] = [...without('ToCity'), ['ToCit', 'yHOBOKEN']];
    expect(twilioAccepts(signature, VOICE_URL, shifted)).toBe(true);
    expect(isValidTwilioSignature(TOKEN, signature, VOICE_URL, shifted)).toBe(true);
  });

  it('agrees with twilio-node for every pair of signed and received URL forms', () => {
    const urls = [
      VOICE_URL,
      'https://calls.example.com:443/v1/twilio/voice',
      'https://calls.example.com:8443/v1/twilio/voice',
      'https://CALLS.example.com/v1/twilio/voice',
      'http://calls.example.com/v1/twilio/voice',
      'http://calls.example.com:80/v1/twilio/voice',
      'https://calls.example.com/v1/twilio/voice?',
      'https://calls.example.com/v1/twilio/voice?site=s_1',
      'https://calls.example.com:443/v1/twilio/voice?site=s_1',
      "https://calls.example.com/v1/twilio/voice?name=O'Brien+Jr",
      'https://calls.example.com/v1/twilio/voice?name=O%27Brien%20Jr',
      'https://calls.example.com/v1/twilio/voice?a=1&a=2&b',
      'https://calls.example.com/v1/twilio/./voice',
      'https://calls.example.com/v1/twilio/v%C3%B6ice',
      'https://calls.example.com/v1/twilio/vöice',
      'https://user:pw@calls.example.com/v1/twilio/voice',
      'http://[::1]/voice',
      'http://[::1]:80/voice',
    ];
    for (const signedUrl of urls) {
      const signed = twilioSigns(signedUrl, VOICE);
      for (const receivedUrl of urls) {
        const expected = twilioAccepts(signed, receivedUrl, VOICE);
        expect(isValidTwilioSignature(TOKEN, signed, receivedUrl, VOICE), `${signedUrl} → ${receivedUrl}`).toBe(
          expected,
        );
      }
    }
  });

  it('answers false for a URL it cannot parse rather than throwing', () => {
    expect(isValidTwilioSignature(TOKEN, signature, 'not a url', VOICE)).toBe(false);
    expect(isValidTwilioSignature(TOKEN, signature, 'https://[oops/voice', VOICE)).toBe(false);
  });
});
