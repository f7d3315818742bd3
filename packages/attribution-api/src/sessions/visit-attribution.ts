import type { Attribution } from '../db/schema.ts';

const MAX_VALUE = 255;
const MAX_URL = 2048;

const PARAMS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'gclid',
  'gbraid',
  'wbraid',
  'fbclid',
  'msclkid',
  'ttclid',
] as const;

type Param = (typeof PARAMS)[number];

// Click ids name their ad platform when no utm_source does.
const CLICK_IDS: [Param, string, string][] = [
  ['gclid', 'google', 'cpc'],
  ['gbraid', 'google', 'cpc'],
  ['wbraid', 'google', 'cpc'],
  ['msclkid', 'bing', 'cpc'],
  ['ttclid', 'tiktok', 'cpc'],
  // Facebook appends fbclid to organic shares too, so it alone does not mean paid.
  ['fbclid', 'facebook', 'social'],
];

const SEARCH_ENGINES: [RegExp, string][] = [
  [/(^|\.)google\.[a-z.]+$/, 'google'],
  [/(^|\.)bing\.com$/, 'bing'],
  [/(^|\.)duckduckgo\.com$/, 'duckduckgo'],
  [/(^|\.)yahoo\.[a-z.]+$/, 'yahoo'],
  [/(^|\.)ecosia\.org$/, 'ecosia'],
  [/(^|\.)baidu\.com$/, 'baidu'],
  [/(^|\.)yandex\.[a-z.]+$/, 'yandex'],
];

const SOCIAL: [RegExp, string][] = [
  [/(^|\.)(facebook\.com|fb\.me)$/, 'facebook'],
  [/(^|\.)instagram\.com$/, 'instagram'],
  [/(^|\.)(t\.co|twitter\.com|x\.com)$/, 'x'],
  [/(^|\.)(linkedin\.com|lnkd\.in)$/, 'linkedin'],
  [/(^|\.)(youtube\.com|youtu\.be)$/, 'youtube'],
  [/(^|\.)reddit\.com$/, 'reddit'],
  [/(^|\.)pinterest\.[a-z.]+$/, 'pinterest'],
  [/(^|\.)tiktok\.com$/, 'tiktok'],
];

function clean(value: string | null): string | null {
  if (value === null) return null;
  // Control characters never belong in attribution values; length is bounded.
  const trimmed = value.replace(/\p{Cc}/gu, '').trim();
  return trimmed ? trimmed.slice(0, MAX_VALUE) : null;
}

function parseUrl(value: string | null | undefined): URL | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** A page address without query or fragment, which may carry personal data. */
function pageOf(url: URL): string {
  return (url.origin + url.pathname).slice(0, MAX_URL);
}

/** A page's address as stored (origin and path), or null when it is not an http(s) URL. */
export function pageAddress(value: string): string | null {
  const url = parseUrl(value);
  return url && pageOf(url);
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^www\./, '');
}

function classifyReferrer(referrer: URL): { source: string; medium: string } {
  const host = hostOf(referrer);
  for (const [pattern, name] of SEARCH_ENGINES) if (pattern.test(host)) return { source: name, medium: 'organic' };
  for (const [pattern, name] of SOCIAL) if (pattern.test(host)) return { source: name, medium: 'social' };
  return { source: host, medium: 'referral' };
}

/**
 * Reads how a visit arrived from its landing page and referrer: UTM values and click ids
 * from the landing URL's query, the referrer when it is external, and the source and medium
 * that follow from them (explicit UTM first, then click ids, then the referrer, else direct).
 * Returns null when the landing URL is not an http(s) URL.
 */
export function readVisitAttribution(landingUrl: string, referrer: string | null | undefined): Attribution | null {
  const landing = parseUrl(landingUrl);
  if (!landing) return null;
  const params = {} as Record<Param, string | null>;
  for (const name of PARAMS) params[name] = clean(landing.searchParams.get(name));

  const ref = parseUrl(referrer);
  const external = ref && hostOf(ref) !== hostOf(landing) ? ref : null;

  let source = '(direct)';
  let medium = '(none)';
  const clickId = CLICK_IDS.find(([name]) => params[name]);
  if (params.utm_source) {
    source = params.utm_source;
    medium = params.utm_medium ?? clickId?.[2] ?? '(not set)';
  } else if (clickId) {
    [, source, medium] = clickId;
  } else if (external) {
    ({ source, medium } = classifyReferrer(external));
  }

  return {
    landing_url: pageOf(landing),
    referrer: external ? pageOf(external) : null,
    source,
    medium,
    ...params,
  };
}
