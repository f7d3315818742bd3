// What the site owner's script tag says: <script async src=".../v1/snippet.js" data-site="KEY"></script>.

export interface Config {
  /** The site's sessions endpoint, on the script's own origin unless data-api names another. */
  sessions: string;
  consentRequired: boolean;
}

/** The tag's settings, or undefined without a data-site (or without a tag: then `currentScript` is null). */
export const readConfig = (script: HTMLScriptElement): Config | undefined => {
  const data = script.dataset;
  // Site keys are URL-safe tokens: written into the path as they are.
  if (data.site)
    return {
      sessions: `${data.api || new URL(script.src).origin}/v1/public/sites/${data.site}/sessions`,
      consentRequired: data.consent === 'required',
    };
};
