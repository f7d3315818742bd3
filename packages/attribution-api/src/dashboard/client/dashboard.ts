import {
  ApiFailure,
  type CallPage,
  type DailyReport,
  getJson,
  type PoolsReport,
  type Site,
  Unauthorized,
} from './api.ts';
import { appendCalls, emptyRow } from './calls-table.ts';
import { clearCharts, poolCharts, qualifiedChart, sourcesChart } from './charts.ts';
import { dayCount, defaultRange, instants, rangeProblem } from './dates.ts';
import { byId, h } from './dom.ts';

// The dashboard page: sign in with an API key (kept in this tab's sessionStorage only), pick a site
// and days, then read calls and charts from the admin API. Every value from the API goes in as text.

const KEY = 'ringpool.apiKey';
const PAGE_SIZE = 50;
/** Pool utilization per hour up to this many days, per day beyond. */
const HOURLY_UP_TO_DAYS = 7;

const signInSection = byId<HTMLElement>('sign-in');
const signInForm = byId<HTMLFormElement>('sign-in-form');
const keyInput = byId<HTMLInputElement>('api-key');
const signInError = byId<HTMLElement>('sign-in-error');
const signOutButton = byId<HTMLButtonElement>('sign-out');
const dashboard = byId<HTMLElement>('dashboard');
const filters = byId<HTMLFormElement>('filters');
const sitePicker = byId<HTMLSelectElement>('site');
const fromInput = byId<HTMLInputElement>('from');
const toInput = byId<HTMLInputElement>('to');
const zoneNote = byId<HTMLElement>('zone-note');
const statusLine = byId<HTMLElement>('status');
const errorLine = byId<HTMLElement>('error');
const chartsArea = byId<HTMLElement>('charts');
const callsBody = byId<HTMLTableSectionElement>('calls-body');
const callsRegion = byId<HTMLElement>('calls-region');
const moreButton = byId<HTMLButtonElement>('more');

let apiKey = '';
let sites: Site[] = [];
/** Bumped on every new view, so that answers to an earlier one are dropped. */
let view = 0;
let nextCursor: string | null = null;
let shownCalls = 0;

const storage = {
  get: () => {
    try {
      return sessionStorage.getItem(KEY) ?? '';
    } catch {
      return '';
    }
  },
  set: (value: string) => {
    try {
      if (value) sessionStorage.setItem(KEY, value);
      else sessionStorage.removeItem(KEY);
    } catch {
      // Storage blocked: the key then lasts as long as the page.
    }
  },
};

function showSignIn(message: string): void {
  view++;
  apiKey = '';
  storage.set('');
  clearCharts();
  chartsArea.replaceChildren();
  callsBody.replaceChildren();
  dashboard.hidden = true;
  signOutButton.hidden = true;
  signInSection.hidden = false;
  signInError.textContent = message;
  keyInput.value = '';
  keyInput.focus();
}

/** An API failure, shown; a refused key sends the user back to sign-in. */
function failed(err: unknown): void {
  if (err instanceof Unauthorized) showSignIn('Your API key was not accepted (401). Sign in again.');
  else errorLine.textContent = err instanceof ApiFailure ? err.message : `Something went wrong: ${String(err)}`;
}

async function signIn(key: string, onRefused: string): Promise<void> {
  let list: { sites: Site[] };
  try {
    list = await getJson<{ sites: Site[] }>(key, '/v1/sites');
  } catch (err) {
    if (err instanceof Unauthorized) showSignIn(onRefused);
    else signInError.textContent = err instanceof ApiFailure ? err.message : String(err);
    return;
  }
  apiKey = key;
  storage.set(key);
  sites = list.sites;
  signInSection.hidden = true;
  signInError.textContent = '';
  signOutButton.hidden = false;
  dashboard.hidden = false;
  sitePicker.replaceChildren(...sites.map((site) => h('option', { value: site.id }, site.name)));
  if (!sites.length) {
    errorLine.textContent = 'This account has no sites yet: create one with POST /v1/sites.';
    return;
  }
  setDefaultRange();
  sitePicker.focus();
  await show();
}

const currentSite = (): Site | undefined => sites.find((site) => site.id === sitePicker.value);

function setDefaultRange(): void {
  const site = currentSite();
  if (!site) return;
  const range = defaultRange(site.time_zone, new Date());
  fromInput.value = range.from;
  toInput.value = range.to;
}

/** Loads the calls and the charts for the chosen site and days. */
async function show(): Promise<void> {
  const site = currentSite();
  if (!site) return;
  const { from, to } = { from: fromInput.value, to: toInput.value };
  const problem = rangeProblem(from, to);
  errorLine.textContent = problem ?? '';
  if (problem) return;
  const current = ++view;
  zoneNote.textContent = `Days and times are in the site’s time zone, ${site.time_zone}.`;
  statusLine.textContent = 'Loading…';
  clearCharts();
  chartsArea.replaceChildren();
  callsBody.replaceChildren();
  shownCalls = 0;
  nextCursor = null;
  moreButton.hidden = true;
  const range = `from ${from} to ${to}`;
  const bucket = dayCount(from, to) <= HOURLY_UP_TO_DAYS ? 'hour' : 'day';
  const query = { site_id: site.id, from, to };
  const [calls, charts] = await Promise.allSettled([
    loadCalls(current, site),
    Promise.all([
      getJson<DailyReport>(apiKey, '/v1/reports/calls/daily', { ...query, group_by: 'source' }),
      getJson<DailyReport>(apiKey, '/v1/reports/calls/daily', query),
      getJson<PoolsReport>(apiKey, '/v1/reports/pools', { ...query, bucket }),
    ]).then(([bySource, all, pools]) => {
      if (current !== view) return;
      sourcesChart(chartsArea, bySource, range);
      qualifiedChart(chartsArea, all, range);
      poolCharts(chartsArea, pools, site.time_zone, range);
    }),
  ]);
  if (current !== view) return;
  const failure = [calls, charts].find((outcome) => outcome.status === 'rejected');
  if (failure) failed(failure.reason);
}

async function loadCalls(current: number, site: Site): Promise<void> {
  const page = await getJson<CallPage>(apiKey, '/v1/calls', {
    site_id: site.id,
    ...instants(fromInput.value, toInput.value, site.time_zone),
    limit: PAGE_SIZE,
    cursor: nextCursor ?? undefined,
  });
  if (current !== view) return;
  appendCalls(callsBody, page.calls, site.time_zone);
  shownCalls += page.calls.length;
  if (!shownCalls) callsBody.appendChild(emptyRow('No calls in these days.'));
  nextCursor = page.next_cursor;
  moreButton.hidden = !nextCursor;
  statusLine.textContent = `Showing ${shownCalls} ${shownCalls === 1 ? 'call' : 'calls'}${nextCursor ? ' (more to load)' : ''}.`;
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    signInError.textContent = 'Enter an API key.';
    keyInput.focus();
    return;
  }
  signInError.textContent = 'Checking the key…';
  void signIn(key, 'That API key was not accepted. Check it and try again.');
});

signOutButton.addEventListener('click', () => showSignIn('Signed out.'));

filters.addEventListener('submit', (event) => {
  event.preventDefault();
  void show();
});
sitePicker.addEventListener('change', () => void show());

moreButton.addEventListener('click', async () => {
  const site = currentSite();
  if (!site || !nextCursor) return;
  moreButton.disabled = true;
  try {
    await loadCalls(view, site);
  } catch (err) {
    failed(err);
  } finally {
    moreButton.disabled = false;
  }
  // The button goes when the last page is in: keep the keyboard user in the table.
  if (moreButton.hidden && !dashboard.hidden) callsRegion.focus();
});

const stored = storage.get();
if (stored) void signIn(stored, 'Your API key was not accepted (401). Sign in again.');
else signInSection.hidden = false;
