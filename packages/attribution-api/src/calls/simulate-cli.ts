/**
 * `npm run call -- <tracking number>`: rings the local service as Twilio would for the demo account,
 * with correctly signed webhooks (the call, then its end), so the demo's calls show up in the API.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { readDemoTelephony } from '../demo/telephony-file.ts';
import { toE164 } from '../sites/phone.ts';
import type { FormPair } from './providers/form.ts';
import { twilioSignature } from './providers/twilio.ts';

const USAGE = `Usage: npm run call -- <tracking number> [--from <caller>] [--duration <seconds>] [--no-answer]

  <tracking number>  the number the demo page shows, in any common format, e.g. "(201) 555-0105"
  --from             the caller's number (default +1 201 555 0199)
  --duration         how long the business talks to the caller, in seconds (default 95)
  --no-answer        the business does not pick up

With RINGPOOL_API_KEY set to an API key, it also prints the attributed call.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string', default: '+12015550199' },
    duration: { type: 'string', default: '95' },
    'no-answer': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const [input] = positionals;
if (!input) fail('Which number? Give the tracking number the demo page shows.');
let to: string;
let from: string;
try {
  to = toE164(input, 'US');
  from = toE164(values.from, 'US');
} catch (err) {
  fail((err as Error).message);
}
const duration = Number(values.duration);
if (!Number.isInteger(duration) || duration < 0) fail('--duration must be a whole number of seconds');

const config = loadConfig(process.env);
const demo = readDemoTelephony(config.stateDir);
if (!demo) fail(`No demo telephony account in ${config.stateDir}: start the service first (npm start).`);

const callSid = `CA${randomBytes(16).toString('hex')}`;

async function webhook(path: string, params: FormPair[]): Promise<string> {
  const url = `${demo?.baseUrl}/v1/telephony/twilio/${path}`;
  const body = new URLSearchParams(params.map(([k, v]) => [k, v])).toString();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(demo?.authToken ?? '', url, params),
    },
    body,
  });
  const text = await response.text();
  if (!response.ok) fail(`${path}: HTTP ${response.status} ${text}`);
  return text;
}

const common: FormPair[] = [
  ['AccountSid', demo.accountSid],
  ['CallSid', callSid],
  ['From', from],
  ['To', to],
  ['Direction', 'inbound'],
  ['ApiVersion', '2010-04-01'],
];

try {
  const twiml = await webhook('voice', [...common, ['CallStatus', 'ringing']]);
  const forwardTo = /<Number[^>]*>([^<]+)<\/Number>/.exec(twiml)?.[1];
  process.stdout.write(
    forwardTo
      ? `Call ${callSid} from ${from} to ${to}: forwarded to ${forwardTo}\n`
      : `Call ${callSid} to ${to}: not forwarded (Ringpool does not know this number)\n${twiml}\n`,
  );
  if (forwardTo) {
    const dialStatus = values['no-answer'] ? 'no-answer' : 'completed';
    await webhook('status', [
      ...common,
      ['CallStatus', 'in-progress'],
      ['DialCallStatus', dialStatus],
      ['DialCallDuration', values['no-answer'] ? '0' : String(duration)],
    ]);
    process.stdout.write(`Call ended: ${dialStatus}${values['no-answer'] ? '' : `, ${duration} s`}\n`);
  }
} catch (err) {
  fail(`Could not reach the service at ${demo.baseUrl}: ${(err as Error).message}. Is it running (npm start)?`);
}

const apiKey = process.env.RINGPOOL_API_KEY;
if (apiKey) {
  const response = await fetch(`${demo.baseUrl}/v1/calls?limit=20`, { headers: { authorization: `Bearer ${apiKey}` } });
  const { calls = [] } = (await response.json()) as { calls?: Array<Record<string, unknown>> };
  const call = calls.find((c) => c.provider_call_id === callSid);
  process.stdout.write(call ? `${JSON.stringify(call, null, 2)}\n` : 'The call is not in the API yet.\n');
} else {
  process.stdout.write(
    `See it: curl -H "Authorization: Bearer <admin key>" ${demo.baseUrl}/v1/calls\n` +
      '(or set RINGPOOL_API_KEY to have it printed here)\n',
  );
}
