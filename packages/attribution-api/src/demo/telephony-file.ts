import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What `npm run call` needs to reach the local service as the demo's Twilio account would. */
export interface DemoTelephony {
  baseUrl: string;
  accountSid: string;
  authToken: string;
}

const FILE = 'demo-telephony.json';

export function writeDemoTelephony(stateDir: string, demo: DemoTelephony): void {
  mkdirSync(stateDir, { recursive: true });
  // Readable by this user only: the token signs webhooks for the demo account.
  writeFileSync(path.join(stateDir, FILE), `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
}

export function readDemoTelephony(stateDir: string): DemoTelephony | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path.join(stateDir, FILE), 'utf8')) as Partial<DemoTelephony>;
    if (typeof parsed.baseUrl !== 'string' || typeof parsed.accountSid !== 'string') return undefined;
    if (typeof parsed.authToken !== 'string') return undefined;
    return { baseUrl: parsed.baseUrl, accountSid: parsed.accountSid, authToken: parsed.authToken };
  } catch {
    return undefined;
  }
}
