import { describe, expect, it } from 'vitest';
import { readVisitAttribution } from '../../src/sessions/visit-attribution.ts';

const LANDING = 'https://www.example-dental.com/implants';

describe('readVisitAttribution', () => {
  it('reads UTM values and click ids from the landing URL', () => {
    const a = readVisitAttribution(
      `${LANDING}?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=dental+implants&utm_content=ad1&gclid=Cj0KCQ`,
      'https://www.google.com/',
    );
    expect(a).toMatchObject({
      landing_url: LANDING,
      source: 'google',
      medium: 'cpc',
      utm_campaign: 'spring',
      utm_term: 'dental implants',
      utm_content: 'ad1',
      gclid: 'Cj0KCQ',
      referrer: 'https://www.google.com/',
    });
  });

  it.each([
    ['gclid=1', 'google', 'cpc'],
    ['gbraid=1', 'google', 'cpc'],
    ['wbraid=1', 'google', 'cpc'],
    ['msclkid=1', 'bing', 'cpc'],
    ['ttclid=1', 'tiktok', 'cpc'],
    ['fbclid=1', 'facebook', 'social'],
  ])('names the platform of a click id alone (%s)', (query, source, medium) => {
    expect(readVisitAttribution(`${LANDING}?${query}`, null)).toMatchObject({ source, medium });
  });

  it('prefers an explicit utm_source to a click id, and takes the medium from the click id when UTM has none', () => {
    expect(readVisitAttribution(`${LANDING}?utm_source=newsletter&gclid=1`, null)).toMatchObject({
      source: 'newsletter',
      medium: 'cpc',
    });
    expect(readVisitAttribution(`${LANDING}?utm_source=newsletter`, null)).toMatchObject({ medium: '(not set)' });
  });

  it.each([
    ['https://www.google.co.uk/', 'google', 'organic'],
    ['https://duckduckgo.com/', 'duckduckgo', 'organic'],
    ['https://www.bing.com/search?q=dentist', 'bing', 'organic'],
    ['https://l.facebook.com/', 'facebook', 'social'],
    ['https://t.co/abc', 'x', 'social'],
    ['https://www.yelp.com/biz/example', 'yelp.com', 'referral'],
  ])('classifies the referrer %s', (referrer, source, medium) => {
    expect(readVisitAttribution(LANDING, referrer)).toMatchObject({ source, medium });
  });

  it('treats a visit with no referrer, or from the same site, as direct', () => {
    expect(readVisitAttribution(LANDING, null)).toMatchObject({ source: '(direct)', medium: '(none)', referrer: null });
    expect(readVisitAttribution(LANDING, 'https://example-dental.com/about')).toMatchObject({
      source: '(direct)',
      referrer: null,
    });
  });

  it('keeps no query string or fragment of the landing page or referrer', () => {
    const a = readVisitAttribution(
      `${LANDING}?email=pat@example.com&utm_source=x#top`,
      'https://news.example.org/a?u=42',
    );
    expect(a?.landing_url).toBe(LANDING);
    expect(a?.referrer).toBe('https://news.example.org/a');
  });

  it('strips control characters and bounds lengths', () => {
    const a = readVisitAttribution(
      `${LANDING}?utm_campaign=${encodeURIComponent(`a\u0000b\nc${'x'.repeat(400)}`)}`,
      null,
    );
    expect(a?.utm_campaign).toBe(`abc${'x'.repeat(252)}`);
  });

  it('keeps markup in values as inert text (it is escaped wherever it is shown)', () => {
    const a = readVisitAttribution(`${LANDING}?utm_source=${encodeURIComponent('<img src=x onerror=alert(1)>')}`, null);
    expect(a?.source).toBe('<img src=x onerror=alert(1)>');
  });

  it.each(['javascript:alert(1)', 'not a url', 'ftp://example.com/', ''])('rejects the landing URL %j', (url) => {
    expect(readVisitAttribution(url, null)).toBeNull();
  });

  it('ignores a referrer that is not an http(s) URL', () => {
    expect(readVisitAttribution(LANDING, 'android-app://com.google.android.gm')).toMatchObject({
      source: '(direct)',
      referrer: null,
    });
  });
});
