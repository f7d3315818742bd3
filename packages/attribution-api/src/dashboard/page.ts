// The dashboard's HTML: a static shell with no data in it (everything comes from the API, as text)
// and no inline script or style, so the Content-Security-Policy can forbid both.

/** The calls table's columns, as the client fills them (client/calls-table.ts). */
const CALL_HEADERS = [
  'Time',
  'Caller',
  'Tracking number',
  'Source',
  'Medium',
  'Campaign',
  'Keyword',
  'Landing page',
  'Duration',
  'Status',
  'Qualified',
  'Confidence',
  'Reason',
];

export function dashboardPage(assets: { js: string; css: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Ringpool dashboard</title>
<link rel="stylesheet" href="${assets.css}">
<script defer src="${assets.js}"></script>
</head>
<body>
<header>
<h1>Ringpool</h1>
<button id="sign-out" type="button" class="secondary" hidden>Sign out</button>
</header>
<main>
<noscript><p>The dashboard needs JavaScript.</p></noscript>
<section id="sign-in" aria-labelledby="sign-in-heading" hidden>
<h2 id="sign-in-heading">Sign in</h2>
<form id="sign-in-form" novalidate>
<label for="api-key">API key</label>
<input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="sign-in-error sign-in-hint">
<p id="sign-in-error" class="error" role="alert"></p>
<button type="submit">Sign in</button>
<p id="sign-in-hint" class="hint">The key stays in this browser tab (session storage) and is sent only to this service’s API. Signing out or closing the tab forgets it.</p>
</form>
</section>
<div id="dashboard" hidden>
<form id="filters" aria-label="Site and days">
<div><label for="site">Site</label><select id="site"></select></div>
<div><label for="from">From</label><input id="from" type="date" required></div>
<div><label for="to">To (included)</label><input id="to" type="date" required></div>
<button type="submit">Show</button>
</form>
<p id="zone-note" class="note"></p>
<p id="error" class="error" role="alert"></p>
<section aria-labelledby="charts-heading">
<h2 id="charts-heading">Charts</h2>
<div id="charts"></div>
</section>
<section aria-labelledby="calls-heading">
<h2 id="calls-heading">Calls</h2>
<p id="status" role="status"></p>
<div id="calls-region" class="scroll" tabindex="0" role="region" aria-labelledby="calls-caption">
<table id="calls">
<caption id="calls-caption">Calls, newest first, with the visit each was attributed to</caption>
<thead><tr>${CALL_HEADERS.map((name) => `<th scope="col">${name}</th>`).join('')}</tr></thead>
<tbody id="calls-body"></tbody>
</table>
</div>
<button id="more" type="button" class="secondary" hidden>More calls</button>
</section>
</div>
</main>
</body>
</html>
`;
}
