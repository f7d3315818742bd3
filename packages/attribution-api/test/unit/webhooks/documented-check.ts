import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type VerifyRingpoolWebhook = (
  rawBody: Buffer | string,
  signatureHeader: string | string[] | undefined,
  secret: string,
  nowMs?: number,
) => { id: string; type: string; created_at: string; data: { call: Record<string, unknown> } };

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../docs/WEBHOOKS.md');

/** The receiver-side check exactly as docs/WEBHOOKS.md shows it (the block between its markers), loaded as a module. */
export async function loadDocumentedCheck(): Promise<VerifyRingpoolWebhook> {
  const doc = readFileSync(DOC, 'utf8');
  const block = /<!-- webhook-verify:begin -->\s*```js\n([\s\S]*?)```\s*<!-- webhook-verify:end -->/.exec(doc)?.[1];
  if (!block) throw new Error('docs/WEBHOOKS.md has no webhook-verify block');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ringpool-doc-check-')), 'verify.mjs');
  writeFileSync(file, block);
  const module = (await import(pathToFileURL(file).href)) as { verifyRingpoolWebhook?: VerifyRingpoolWebhook };
  if (typeof module.verifyRingpoolWebhook !== 'function') throw new Error('the block exports no verifyRingpoolWebhook');
  return module.verifyRingpoolWebhook;
}
