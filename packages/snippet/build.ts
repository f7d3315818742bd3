// Builds the snippet into one minified IIFE (dist/ringpool.js) with its sizes and Subresource
// Integrity hash (dist/meta.json), and fails (exit code 1) above its size budget: `npm run build`.
// test/size.test.ts checks the same bundle, so the budget also fails the unit tests.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Hard budget, gzip bytes (PRODUCT.md); the target is 1,600. */
export const BUDGET = 2048;

export async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('src/index.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    legalComments: 'none',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild wrote nothing');
  return file.text;
}

export function measure(code: string) {
  const bytes = Buffer.from(code);
  return {
    bytes: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}`,
    version: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const code = await bundle();
  const meta = measure(code);
  const dist = fileURLToPath(new URL('dist/', import.meta.url));
  mkdirSync(dist, { recursive: true });
  writeFileSync(`${dist}ringpool.js`, code);
  writeFileSync(`${dist}meta.json`, `${JSON.stringify(meta, null, 2)}\n`);
  console.log(
    `snippet: ${meta.bytes} B, ${meta.gzip} B gzip (budget ${BUDGET}), ${meta.brotli} B brotli, version ${meta.version}`,
  );
  if (meta.gzip > BUDGET) {
    console.error(`snippet: OVER its ${BUDGET} B gzip budget by ${meta.gzip - BUDGET} B`);
    process.exitCode = 1;
  }
}
