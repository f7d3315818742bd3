import { accessSync, constants } from 'node:fs';

/** Where Debian and Ubuntu put Chromium (`apt-get install chromium`); Playwright's own browser download is not used. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Launch flags that work on this kind of machine: root, no GPU, and no network beyond the loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The Chromium to test in: CHROMIUM_PATH if set, else the system's; undefined if there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    // A path given on purpose that does not work is a mistake to report, never a reason to skip.
    if (!isExecutable(chosen)) throw new Error(`CHROMIUM_PATH is "${chosen}", which is not an executable file`);
    return chosen;
  }
  return CANDIDATES.find(isExecutable);
}

/** Why there is no Chromium and how to get one, in a box loud enough to notice in a long test log. */
export function missingChromium(headline: string): string {
  const lines = [
    headline,
    `Looked for CHROMIUM_PATH (unset), then ${CANDIDATES.join(' and ')}.`,
    'Install it with:   apt-get install -y chromium',
    'or set CHROMIUM_PATH to a Chromium or Chrome binary.',
  ];
  const rule = `  ${'*'.repeat(76)}`;
  return ['', rule, ...lines.map((line) => `  **  ${line}`), rule, ''].join('\n');
}
