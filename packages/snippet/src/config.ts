// What the site owner's script tag says: <script async src=".../v1/snippet.js" data-site="KEY"></script>.

export interface Config {
  site: string;
  /** The service's origin: the script's own, unless data-api names another. */
  api: string;
  consentRequired: boolean;
}

export const readConfig = (script: HTMLScriptElement | null): Config | undefined => {
  const data = script?.dataset;
  const site = data?.site;
  if (!site || !script) return;
  return { site, api: data.api || new URL(script.src).origin, consentRequired: data.consent === 'required' };
};
