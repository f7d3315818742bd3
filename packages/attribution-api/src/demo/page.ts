import type { FastifyPluginAsync } from 'fastify';
import { DEMO_SITE_KEY } from './bootstrap.ts';

// The demo business's marketing page, with the script tag a site owner pastes. Everything the
// snippet must swap is here, and what it must leave alone is marked. Served at /demo and /demo/*.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Dental: Ringpool demo</title>
<script async src="/v1/snippet.js" data-site="${DEMO_SITE_KEY}"></script>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
.phone{font-weight:700}
section{border-top:1px solid #dde;padding:.5rem 0}
code{background:#f2f3f7;padding:0 .25rem}
#status{background:#eef7ee;border:1px solid #bcd9bc;padding:.5rem 1rem}
nav a{margin-right:1rem}
</style>
</head>
<body>
<header>
<h1>Demo Dental</h1>
<p>Call us: <a class="phone" id="header-phone" href="tel:+12015550100" aria-label="Call (201) 555-0100" title="Call (201) 555-0100">(201) 555-0100</a></p>
<nav><a href="/demo" data-route="/demo">Home</a><a href="/demo/implants" data-route="/demo/implants">Implants (client-side route)</a></nav>
</header>
<p id="status">This page carries the Ringpool tag for the demo site. The business number <strong>+1 (201) 555-0100</strong> is swapped for a tracking number leased to your visit; the links below stay within this visit.</p>
<main id="view">
<section id="formats">
<h2>Formats</h2>
<ul>
<li id="f-paren">(201) 555-0100</li>
<li id="f-dash">201-555-0100</li>
<li id="f-dot">201.555.0100</li>
<li id="f-plain">2015550100</li>
<li id="f-intl">+1 201 555 0100</li>
<li id="f-trunk">1-201-555-0100</li>
<li id="f-split"><span>(201)</span> <b>555</b>-0100</li>
<li id="f-sms"><a href="sms:+12015550100">Text us</a></li>
</ul>
</section>
<section id="untouched">
<h2>Left alone</h2>
<p>A different number that contains the digits: <span id="f-longer">1-201-555-01009</span>.</p>
<label>A form value: <textarea id="textarea" rows="1">(201) 555-0100</textarea></label>
<p data-ringpool-ignore id="ignored">Marked data-ringpool-ignore: (201) 555-0100</p>
</section>
<section id="later"><h2>Added later</h2><p>Content loaded after two seconds appears here.</p></section>
</main>
<script>
// Content that arrives after the page has loaded: the snippet follows it.
setTimeout(function () {
  var p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'Added after 2 s: call 201-555-0100 for same-day appointments.';
  document.getElementById('later').appendChild(p);
}, 2000);
// A single-page-app route change: new content, a new address, no reload.
document.querySelector('nav').addEventListener('click', function (e) {
  var a = e.target.closest('a[data-route]');
  if (!a) return;
  e.preventDefault();
  history.pushState({}, '', a.dataset.route);
  var view = document.getElementById('view');
  if (a.dataset.route === '/demo/implants') {
    view.innerHTML = '<section id="route"><h2>Dental implants</h2><p id="route-phone">Book a consultation: <a href="tel:2015550100">201.555.0100</a></p></section>';
  } else {
    location.reload();
  }
});
// What the snippet tells the page (shown with textContent only).
document.addEventListener('ringpool:swap', function (e) {
  document.getElementById('status').textContent = 'Swapped: this visit holds ' + e.detail.numbers.join(', ') + ' (session ' + e.detail.session + ').';
});
</script>
</body>
</html>
`;

export const demoRoutes: FastifyPluginAsync = async (app) => {
  const send = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  app.get('/demo', { schema: { hide: true } }, send);
  app.get('/demo/*', { schema: { hide: true } }, send);
};
