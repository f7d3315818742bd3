/**
 * Snippet DOM benchmark (docs/BENCHMARKS.md, "Snippet DOM"): `npm run bench:snippet` (builds the snippet first).
 *
 * Real Chromium against the real service (a child process on 127.0.0.1 with a fresh PGlite folder and its demo
 * site). Generated pages are served from the service's origin with Playwright's page.route, so the demo site's
 * allowed origins accept them. Each page gets the snippet injected after `load` (a dynamically added script
 * runs in a task of its own, like the documented `async` tag), so the snippet's work is never mixed with the
 * parser's. A first view leases a number and caches it in localStorage; every measured view then swaps
 * synchronously from that cache, with no request on the critical path (the bench checks that no lease request
 * was sent).
 *
 * Timing, in the page (an init script that runs before anything else):
 *   start  the snippet's first storage read (`localStorage.getItem('ringpool_optout')`, its first statement
 *          after reading its script tag), by wrapping Storage.prototype.getItem;
 *   end    a microtask queued from the `ringpool:swap` listener, i.e. after the first scan slice and the
 *          snippet's own MutationObserver callback for it; when the scan is sliced, the end of the last
 *          setTimeout slice (setTimeout is wrapped while the scan runs, to time every slice);
 *   long tasks from a PerformanceObserver('longtask', buffered) registered before the page's own scripts.
 * A baseline page with the same DOM and no snippet is viewed in alternation with the snippet's, and in every
 * page a plain TreeWalker counts the text nodes (the cheapest possible walk of the same DOM) for a ratio.
 *
 * Settings (environment): BENCH_SNIPPET_RUNS measured views per page (5), BENCH_SNIPPET_BIG_RUNS views of the
 * 40,000-node page (3), CHROMIUM_PATH (/usr/bin/chromium), BENCH_SNIPPET_FILE a snippet file to serve instead of
 * the built one (to compare two builds against the same service, e.g. one built from an earlier commit).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium, missingChromium } from '../e2e/support/chromium.ts';
import { freePort, ROOT, type Service, startService } from './lib/proc.ts';

const RUNS = Math.max(1, Number(process.env.BENCH_SNIPPET_RUNS) || 5);
const SNIPPET_FILE = process.env.BENCH_SNIPPET_FILE;
const BIG_RUNS = Math.max(1, Number(process.env.BENCH_SNIPPET_BIG_RUNS) || 3);
const CHROMIUM = findChromium();
if (!CHROMIUM) throw new Error(missingChromium('The snippet bench needs Chromium.'));
/** The whole bench stops (and cleans up) after this long, whatever happens. */
const DEADLINE_MS = 10 * 60_000;
const BUDGET = { scan5kMs: 10, taskMs: 50, insertMs: 16 };
const BUSINESS = '2015550100';

// ---- fixtures ----

/** A small deterministic PRNG (mulberry32), so every run serves the same pages. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// No digits in filler text: a digit next to a number would stop it from matching.
const WORDS =
  'plumbing heating repair emergency service licensed insured technicians available weekends estimate free water heater drain cleaning leak detection boiler furnace installation maintenance plan our team serves the whole county since family owned trusted local experts call today schedule online fast friendly'.split(
    ' ',
  );

/** One number in one of the formats pages print it in, as HTML; `texts` is how many text nodes it adds. */
const NUMBER_FORMATS: { html: string; texts: number }[] = [
  { html: 'Call us at (201) 555-0100 for a free estimate.', texts: 1 },
  { html: 'Phone: 201-555-0100', texts: 1 },
  { html: 'From abroad: +1 201 555 0100', texts: 1 },
  { html: 'Office 201.555.0100, open weekdays', texts: 1 },
  { html: 'Call <span>(201)</span> 555-0100 now', texts: 3 },
  { html: 'Call <a href="tel:+12015550100">(201) 555-0100</a> today', texts: 3 },
];

/**
 * Body HTML with exactly `texts` text nodes (no whitespace between tags): headings, paragraphs (some with links
 * or bold words, i.e. inline runs) and lists, with the business number in about 1 text node in 50.
 */
function content(texts: number, seed: number, cls = ''): { html: string; numbers: number } {
  const rand = prng(seed);
  const words = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
  const sentence = () => {
    const s = words(4 + Math.floor(rand() * 10));
    return `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
  };
  const c = cls ? ` class="${cls}"` : '';
  const out: string[] = [];
  let left = texts;
  let numbers = 0;
  while (left > 0) {
    const r = rand();
    if (rand() < 1 / 45 && left >= 3) {
      const f = NUMBER_FORMATS[Math.floor(rand() * NUMBER_FORMATS.length)] ?? NUMBER_FORMATS[0];
      if (f && f.texts <= left) {
        out.push(`<p${c}>${f.html}</p>`);
        left -= f.texts;
        numbers++;
        continue;
      }
    }
    if (r < 0.05) {
      out.push(`<h2${c}>${sentence()}</h2>`);
      left -= 1;
    } else if (r < 0.5 || left < 3) {
      out.push(`<p${c}>${sentence()} ${sentence()}</p>`);
      left -= 1;
    } else if (r < 0.7) {
      out.push(`<p${c}>${sentence()} <a href="/services">${words(2)}</a> ${sentence()}</p>`);
      left -= 3;
    } else if (r < 0.8) {
      out.push(`<p${c}>${sentence()} <strong>${words(2)}</strong> ${sentence()}</p>`);
      left -= 3;
    } else {
      const n = Math.min(left, 3 + Math.floor(rand() * 4));
      out.push(`<ul${c}>${Array.from({ length: n }, () => `<li>${sentence()}</li>`).join('')}</ul>`);
      left -= n;
    }
  }
  return { html: out.join(''), numbers };
}

/** The page: the content, and (snippet pages) a script that adds the snippet's tag after `load`. */
function page(body: string, snippet: boolean): string {
  const inject = snippet
    ? `var s=document.createElement('script');s.src='/v1/snippet.js';s.dataset.site='demo';document.body.append(s);`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title><style>body{font:16px/1.5 sans-serif;max-width:60em;margin:auto}</style></head><body><main id="content">${body}</main><script>addEventListener('load',function(){setTimeout(function(){window.__rpLoaded=true;${inject}},50)});</script></body></html>`;
}

// ---- in-page code (plain JavaScript strings: no transpiler helpers can leak into the page) ----

const INIT = `(() => {
  const rp = (window.__rp = { start: 0, swap: 0, firstEnd: 0, end: 0, done: false, scheduled: 0, slices: [], longtasks: [], watch: false, watchedTimeouts: 0 });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) rp.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { rp.noLongtask = String(e); }
  const get = Storage.prototype.getItem;
  Storage.prototype.getItem = function (k) {
    if (k === 'ringpool_optout' && !rp.start) rp.start = performance.now();
    return get.call(this, k);
  };
  const st = window.setTimeout;
  // The snippet slices its scan with setTimeout(step): one argument. Playwright's polling and the page pass a delay.
  window.setTimeout = function (fn, ...rest) {
    if (rest.length || typeof fn !== 'function') return st(fn, ...rest);
    if (rp.watch) rp.watchedTimeouts++;
    if (!rp.start || rp.done) return st(fn);
    rp.scheduled++;
    return st(() => {
      const t0 = performance.now();
      try { fn(); } finally {
        // Queued after the snippet's MutationObserver microtask (queued by the slice's first write).
        queueMicrotask(() => {
          const t1 = performance.now();
          rp.slices.push([t0, t1]);
          if (rp.firstEnd && rp.slices.length === rp.scheduled) { rp.done = true; rp.end = t1; }
        });
      }
    });
  };
  document.addEventListener('ringpool:swap', () => {
    rp.swap = performance.now();
    queueMicrotask(() => {
      rp.firstEnd = performance.now();
      if (rp.slices.length === rp.scheduled) { rp.done = true; rp.end = rp.firstEnd; }
    });
  });
})();`;

/** Counts, per block, the business number and the tracking number still in the text, and tel: links left. */
const COUNT = `((selector, nsn) => {
  const re = (d) => new RegExp(d.slice(0, 3) + '\\\\)?[\\\\s.-]*' + d.slice(3, 6) + '[\\\\s.-]*' + d.slice(6), 'g');
  let business = 0, tracking = 0, tel = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('ul') && el.nodeName !== 'LI') continue;
    const t = el.textContent;
    business += (t.match(re('${BUSINESS}')) || []).length;
    if (nsn) tracking += (t.match(re(nsn)) || []).length;
  }
  for (const a of document.querySelectorAll('a[href^="tel:"]')) if (a.getAttribute('href').includes('${BUSINESS}')) tel++;
  return { business, tracking, tel };
})`;

/** The trivial baseline: a plain TreeWalker counting the text nodes, 5 times; times in ms. */
const WALK = `(() => {
  const times = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const w = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
    let n = 0;
    while (w.nextNode()) n++;
    times.push(performance.now() - t0);
    count = n;
  }
  return { count, times };
})()`;

/** Appends 500 text nodes at once (one fragment) and times until the snippet's observer has handled them. */
const INSERT = `(async (html, nsn) => {
  const rp = window.__rp;
  const frag = document.createRange().createContextualFragment(html);
  const host = document.getElementById('content');
  rp.watch = true;
  rp.watchedTimeouts = 0;
  const t0 = performance.now();
  host.append(frag);
  const appended = performance.now();
  // This continuation is queued after the MutationObserver microtask that the append queued.
  await null;
  const handled = performance.now();
  const frame = await new Promise((resolve) =>
    requestAnimationFrame(() => resolve({ at: performance.now(), counts: ${COUNT}('#content .ins, #content .ins li', nsn) })),
  );
  rp.watch = false;
  // Baseline on the same inserted nodes: a plain TreeWalker counting their text nodes.
  const w0 = performance.now();
  let n = 0;
  for (const el of document.querySelectorAll('#content > .ins')) {
    const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (w.nextNode()) n++;
  }
  const walkMs = performance.now() - w0;
  return { appendMs: appended - t0, handledMs: handled - t0, frameMs: frame.at - t0, counts: frame.counts,
    sliced: rp.watchedTimeouts, walkMs, walkCount: n };
})`;

// ---- the run ----

interface Rp {
  start: number;
  swap: number;
  firstEnd: number;
  end: number;
  done: boolean;
  scheduled: number;
  slices: [number, number][];
  longtasks: { start: number; duration: number }[];
  noLongtask?: string;
}

interface ViewResult {
  kind: 'snippet' | 'baseline';
  textNodes: number;
  walkMs: number[];
  longtasks: { start: number; duration: number }[];
  scan?: {
    totalMs: number;
    workMs: number;
    toSwapEventMs: number;
    firstTaskMs: number;
    slices: number;
    longestSliceMs: number;
    longestTaskInScanMs: number;
    leaseRequests: number;
    counts: { business: number; tracking: number; tel: number };
  };
  insert?: {
    appendMs: number;
    handledMs: number;
    frameMs: number;
    sliced: number;
    walkMs: number;
    walkCount: number;
    counts: { business: number; tracking: number; tel: number };
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function view(
  p: Page,
  base: string,
  name: string,
  snippet: boolean,
  nsn: string,
  insertHtml?: string,
): Promise<ViewResult> {
  let leaseRequests = 0;
  const onRequest = (r: { method(): string; url(): string }) => {
    if (r.method() === 'POST' && /\/sessions$/.test(r.url())) leaseRequests++;
  };
  p.on('request', onRequest);
  try {
    await p.goto(`${base}/bench/${name}`, { waitUntil: 'load', timeout: 60_000 });
    await p.waitForFunction('window.__rpLoaded === true', null, { timeout: 30_000 });
    if (snippet)
      await p.waitForFunction('window.__rp.done === true', null, { timeout: 20_000, polling: 50 }).catch(async (e) => {
        const state = await p.evaluate('JSON.stringify({ rp: window.__rp, cached: localStorage.getItem("ringpool") })');
        throw new Error(`the snippet did not finish its scan on ${name}: ${state}`, { cause: e });
      });
    else await sleep(100);
    // Long-task entries are delivered asynchronously.
    await sleep(300);
    const rp = (await p.evaluate('window.__rp')) as Rp;
    if (rp.noLongtask) throw new Error(`no longtask observer in this Chromium: ${rp.noLongtask}`);
    const walk = (await p.evaluate(WALK)) as { count: number; times: number[] };
    const result: ViewResult = {
      kind: snippet ? 'snippet' : 'baseline',
      textNodes: walk.count,
      walkMs: walk.times,
      longtasks: rp.longtasks,
    };
    if (snippet) {
      const inScan = rp.longtasks.filter((t) => t.start + t.duration > rp.start - 1 && t.start < rp.end + 1);
      const counts = (await p.evaluate(`${COUNT}('#content p, #content h2, #content li', ${JSON.stringify(nsn)})`)) as {
        business: number;
        tracking: number;
        tel: number;
      };
      result.scan = {
        totalMs: rp.end - rp.start,
        // The snippet's own tasks added up (the wall time between them is the browser rendering and idling).
        workMs: rp.firstEnd - rp.start + rp.slices.reduce((sum, [a, b]) => sum + b - a, 0),
        toSwapEventMs: rp.swap - rp.start,
        firstTaskMs: rp.firstEnd - rp.start,
        slices: rp.slices.length,
        longestSliceMs: Math.max(rp.firstEnd - rp.start, ...rp.slices.map(([a, b]) => b - a)),
        longestTaskInScanMs: Math.max(0, ...inScan.map((t) => t.duration)),
        leaseRequests,
        counts,
      };
    }
    if (insertHtml) {
      result.insert = (await p.evaluate(
        `${INSERT}(${JSON.stringify(insertHtml)}, ${JSON.stringify(nsn)})`,
      )) as ViewResult['insert'];
    }
    return result;
  } finally {
    p.off('request', onRequest);
  }
}

async function main() {
  const started = new Date();
  const dataDir = mkdtempSync(join(tmpdir(), 'ringpool-bench-snippet-'));
  let service: Service | undefined;
  let browser: Browser | undefined;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await service?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
  const watchdog = setTimeout(() => {
    console.error(`bench:snippet: over ${DEADLINE_MS / 60_000} minutes, stopping`);
    void cleanup().finally(() => process.exit(2));
  }, DEADLINE_MS);
  try {
    const port = await freePort();
    service = await startService(
      ['node', '--import', 'tsx', 'packages/attribution-api/src/server.ts'],
      { DATA_DIR: dataDir, ADMIN_API_KEY: 'bench-snippet-admin-key', LOG_LEVEL: 'warn' },
      { port, timeoutMs: 120_000 },
    );
    const base = service.base;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    const version = browser.version();
    // The service leases no number to a HeadlessChrome user agent (a bot): present the same Chrome as a browser.
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version} Safari/537.36`;
    const context = await browser.newContext({ userAgent });
    await context.addInitScript(INIT);
    const fixtures = new Map<string, string>();
    const small = content(5_000, 1);
    const big = content(40_000, 2);
    const inserted = content(500, 3, 'ins');
    fixtures.set('5k', page(small.html, true));
    fixtures.set('5k-baseline', page(small.html, false));
    fixtures.set('40k', page(big.html, true));
    fixtures.set('40k-baseline', page(big.html, false));
    if (SNIPPET_FILE) {
      const code = readFileSync(SNIPPET_FILE, 'utf8');
      console.log(`serving ${SNIPPET_FILE} (${Buffer.byteLength(code)} B) as /v1/snippet.js`);
      await context.route(`${base}/v1/snippet.js`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: code }),
      );
    }
    for (const [name, html] of fixtures) {
      await context.route(`${base}/bench/${name}`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
      );
    }
    const p = await context.newPage();
    p.setDefaultTimeout(60_000);

    // Warm view: leases a number over the network and caches it; later views swap from the cache.
    const warm = await view(p, base, '5k', true, '');
    const cached = (await p.evaluate(`localStorage.getItem('ringpool')`)) as string | null;
    const nsn = cached ? (JSON.parse(cached).w?.[0]?.number?.nsn as string) : '';
    if (!nsn) throw new Error('the warm view cached no lease');
    console.log(`warm view: leased ${nsn}, scan after the lease ${round(warm.scan?.totalMs ?? 0)} ms`);

    const views: Record<string, ViewResult[]> = { '5k': [], '5k-baseline': [], '40k': [], '40k-baseline': [] };
    for (let i = 0; i < RUNS; i++) {
      // Alternate who goes first, side by side in the same run.
      const order: [string, boolean][] =
        i % 2
          ? [
              ['5k-baseline', false],
              ['5k', true],
            ]
          : [
              ['5k', true],
              ['5k-baseline', false],
            ];
      for (const [name, snippet] of order) {
        const r = await view(p, base, name, snippet, nsn, inserted.html);
        views[name]?.push(r);
        const s = r.scan;
        console.log(
          `${name.padEnd(12)} walk ${round(median(r.walkMs))} ms` +
            (s
              ? `, scan ${round(s.totalMs)} ms wall, ${round(s.workMs)} ms work in ${s.slices + 1} tasks, left ${s.counts.business}`
              : '') +
            (r.insert ? `, insert handled ${round(r.insert.handledMs)} ms (append ${round(r.insert.appendMs)})` : ''),
        );
      }
    }
    for (let i = 0; i < BIG_RUNS; i++) {
      const order: [string, boolean][] =
        i % 2
          ? [
              ['40k-baseline', false],
              ['40k', true],
            ]
          : [
              ['40k', true],
              ['40k-baseline', false],
            ];
      for (const [name, snippet] of order) {
        const r = await view(p, base, name, snippet, nsn);
        views[name]?.push(r);
        const s = r.scan;
        console.log(
          `${name.padEnd(12)} walk ${round(median(r.walkMs))} ms, longest task ${round(Math.max(0, ...r.longtasks.map((t) => t.duration)))} ms` +
            (s
              ? `, scan ${round(s.totalMs)} ms in ${s.slices + 1} tasks, longest ${round(s.longestSliceMs)} ms, long task in scan ${round(s.longestTaskInScanMs)} ms, left ${s.counts.business}`
              : ''),
        );
      }
    }

    // ---- summary ----
    const sv = (name: string) => (views[name] ?? []).filter((v) => v.scan);
    const all = (name: string) => views[name] ?? [];
    const scans5 = sv('5k').map((v) => v.scan?.totalMs ?? 0);
    const walk5 = sv('5k').map((v) => median(v.walkMs));
    const inserts = sv('5k').map((v) => v.insert?.handledMs ?? 0);
    const appendsBase = all('5k-baseline').map((v) => v.insert?.handledMs ?? 0);
    const insertWalk = sv('5k').map((v) => v.insert?.walkMs ?? 0);
    const big40 = sv('40k');
    const longest40 = Math.max(...big40.map((v) => v.scan?.longestTaskInScanMs ?? 0));
    const slice40 = Math.max(...big40.map((v) => v.scan?.longestSliceMs ?? 0));
    const total40 = median(big40.map((v) => v.scan?.totalMs ?? 0));
    const walk40 = median(big40.map((v) => median(v.walkMs)));
    const parse40 = Math.max(...all('40k-baseline').map((v) => Math.max(0, ...v.longtasks.map((t) => t.duration))));
    const checks = [...sv('5k'), ...big40].every(
      (v) => v.scan?.leaseRequests === 0 && v.scan.counts.business === 0 && v.scan.counts.tel === 0,
    );
    const insertChecks = sv('5k').every(
      (v) => v.insert?.counts.business === 0 && v.insert.counts.tracking === inserted.numbers && v.insert.sliced === 0,
    );
    const summary = {
      scan5k: {
        medianMs: median(scans5),
        runsMs: scans5,
        walkMedianMs: median(walk5),
        ratio: median(sv('5k').map((v) => v.scan?.workMs ?? 0)) / median(walk5),
        workMedianMs: median(sv('5k').map((v) => v.scan?.workMs ?? 0)),
        firstTaskMedianMs: median(sv('5k').map((v) => v.scan?.firstTaskMs ?? 0)),
        tasksMedian: median(sv('5k').map((v) => (v.scan?.slices ?? 0) + 1)),
        toSwapEventMedianMs: median(sv('5k').map((v) => v.scan?.toSwapEventMs ?? 0)),
        met: median(scans5) <= BUDGET.scan5kMs,
      },
      scan40k: {
        longestTaskInScanMs: longest40,
        longestSliceMs: slice40,
        totalMedianMs: total40,
        workMedianMs: median(big40.map((v) => v.scan?.workMs ?? 0)),
        tasksMedian: median(big40.map((v) => (v.scan?.slices ?? 0) + 1)),
        walkMedianMs: walk40,
        ratio: median(big40.map((v) => v.scan?.workMs ?? 0)) / walk40,
        baselineLongestTaskMs: parse40,
        met: longest40 <= BUDGET.taskMs && slice40 <= BUDGET.taskMs,
      },
      insert500: {
        medianMs: median(inserts),
        runsMs: inserts,
        baselineAppendMedianMs: median(appendsBase),
        walkMedianMs: median(insertWalk),
        ratio: median(inserts) / median(insertWalk),
        numbers: inserted.numbers,
        met: median(inserts) <= BUDGET.insertMs,
      },
      checks: { swapsCompleteNoLeaseRequest: checks, insertedSwappedBeforeFrame: insertChecks },
    };
    const machine = {
      nproc: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      chromium: version,
      node: process.version,
      loadavg: loadavg().map((x) => round(x)),
    };
    const pages = {
      '5k': { textNodes: all('5k')[0]?.textNodes, numbers: small.numbers },
      '40k': { textNodes: all('40k')[0]?.textNodes, numbers: big.numbers },
      inserted: { textNodes: 500, numbers: inserted.numbers },
    };
    const verdict = (met: boolean) => (met ? '**met**' : '**MISSED**');
    const table = [
      '| measure | budget | result | plain TreeWalker, same DOM | ratio (work ÷ walk) | verdict |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      `| initial scan, 5,000 text nodes (median of ${scans5.length}) | ≤ ${BUDGET.scan5kMs} ms | ${round(summary.scan5k.medianMs)} ms wall (${summary.scan5k.tasksMedian} tasks, ${round(summary.scan5k.workMedianMs)} ms of work, first task ${round(summary.scan5k.firstTaskMedianMs)} ms) | ${round(summary.scan5k.walkMedianMs, 3)} ms | ${round(summary.scan5k.ratio, 1)}× | ${verdict(summary.scan5k.met)} |`,
      `| 40,000 text nodes: longest task of the scan (worst of ${big40.length}) | ≤ ${BUDGET.taskMs} ms | ${round(Math.max(longest40, slice40))} ms (${summary.scan40k.tasksMedian} tasks, ${round(summary.scan40k.workMedianMs)} ms of work, ${round(total40)} ms wall) | ${round(walk40, 3)} ms | ${round(summary.scan40k.ratio, 1)}× | ${verdict(summary.scan40k.met)} |`,
      `| 500 text nodes inserted at once, handled (median of ${inserts.length}) | ≤ ${BUDGET.insertMs} ms | ${round(summary.insert500.medianMs)} ms (append alone, no snippet: ${round(summary.insert500.baselineAppendMedianMs)} ms) | ${round(summary.insert500.walkMedianMs, 3)} ms | ${round(summary.insert500.ratio, 1)}× | ${verdict(summary.insert500.met)} |`,
    ].join('\n');
    console.log(`\nChromium ${version}, ${machine.nproc} CPUs (${machine.cpu}), load ${machine.loadavg.join(' ')}\n`);
    console.log(table);
    console.log(`\nchecks: ${JSON.stringify(summary.checks)}`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/snippet-${started.toISOString().slice(0, 19).replaceAll(':', '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ started, machine, settings: { RUNS, BIG_RUNS, SNIPPET_FILE }, budget: BUDGET, pages, summary, warm, views }, null, 2)}\n`,
    );
    console.log(`wrote ${file}`);
    if (!checks || !insertChecks) process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

await main();
