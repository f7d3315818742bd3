/** One `name=value` field of an application/x-www-form-urlencoded body, decoded. */
export type FormPair = readonly [name: string, value: string];

export type FormParse = { ok: true; pairs: FormPair[] } | { ok: false; error: string };

/**
 * Parses a form body into its fields in the order sent, repeated names kept: Twilio signs every one of them.
 * '+' is a space, `%XX` is a UTF-8 byte; a malformed escape or invalid UTF-8 rejects the whole body (the route answers
 * 400) rather than being guessed at, since a guessed value could never match what the carrier signed.
 */
export function parseForm(body: string): FormParse {
  const pairs: FormPair[] = [];
  let field = 0;
  for (const part of body.split('&')) {
    if (part === '') continue;
    field += 1;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    const value = decodeComponent(eq === -1 ? '' : part.slice(eq + 1));
    if (name === null || value === null)
      return { ok: false, error: `malformed percent-encoding in form field ${field}` };
    pairs.push([name, value]);
  }
  return { ok: true, pairs };
}

/** The first value sent under `name`, as a carrier's single-valued fields (CallSid, From, To) are read. */
export function formValue(pairs: readonly FormPair[], name: string): string | undefined {
  for (const [n, v] of pairs) if (n === name) return v;
  return undefined;
}

function decodeComponent(raw: string): string | null {
  const spaced = raw.replaceAll('+', ' ');
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return null;
  }
}
