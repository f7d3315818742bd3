// Builds the dashboard's browser code and styles (uPlot included) into dist/dashboard/, with a
// version from their content and a size report; fails (exit code 1) above the budget of the
// dashboard's own code. Part of `npm run build`.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { DASHBOARD_DIST } from './routes.ts';

/** The dashboard's own JavaScript, without uPlot, gzip bytes. */
export const OWN_JS_BUDGET = 8 * 1024;

const client = (file: string) => fileURLToPath(new URL(`client/${file}`, import.meta.url));

const options: BuildOptions = {
  bundle: true,
  minify: true,
  target: 'es2020',
  write: false,
  legalComments: 'none',
};

async function one(entry: string, extra: BuildOptions = {}): Promise<string> {
  const result = await build({ ...options, ...extra, entryPoints: [client(entry)] });
  const [file] = result.outputFiles ?? [];
  if (!file) throw new Error(`esbuild wrote nothing for ${entry}`);
  return file.text;
}

export async function bundleDashboard(): Promise<{ js: string; css: string; ownJs: string }> {
  const [js, css, ownJs] = await Promise.all([
    one('dashboard.ts', { format: 'iife' }),
    one('dashboard.css'),
    // Measured alone: the budget is for what we write, uPlot is counted apart.
    one('dashboard.ts', { format: 'esm', external: ['uplot'] }),
  ]);
  return { js, css, ownJs };
}

const gzip = (text: string) => gzipSync(Buffer.from(text), { level: 9 }).length;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { js, css, ownJs } = await bundleDashboard();
  const version = createHash('sha256').update(js).update('\0').update(css).digest('hex').slice(0, 12);
  const sizes = {
    js: { bytes: Buffer.byteLength(js), gzip: gzip(js) },
    own_js: { bytes: Buffer.byteLength(ownJs), gzip: gzip(ownJs) },
    css: { bytes: Buffer.byteLength(css), gzip: gzip(css) },
  };
  mkdirSync(DASHBOARD_DIST, { recursive: true });
  writeFileSync(`${DASHBOARD_DIST}dashboard.js`, js);
  writeFileSync(`${DASHBOARD_DIST}dashboard.css`, css);
  writeFileSync(`${DASHBOARD_DIST}meta.json`, `${JSON.stringify({ version, sizes }, null, 2)}\n`);
  console.log(
    `dashboard: JS ${sizes.js.bytes} B, ${sizes.js.gzip} B gzip (own code ${sizes.own_js.gzip} B gzip, budget ${OWN_JS_BUDGET}, ` +
      `the rest uPlot); CSS ${sizes.css.bytes} B, ${sizes.css.gzip} B gzip; version ${version}`,
  );
  if (sizes.own_js.gzip > OWN_JS_BUDGET) {
    console.error(
      `dashboard: own JS OVER its ${OWN_JS_BUDGET} B gzip budget by ${sizes.own_js.gzip - OWN_JS_BUDGET} B`,
    );
    process.exitCode = 1;
  }
}
