// ua-parser-js 1.x (MIT) ships no types; only what Ringpool reads is declared.
declare module 'ua-parser-js' {
  export interface UAResult {
    browser: { name?: string; version?: string };
    os: { name?: string; version?: string };
    device: { type?: string; vendor?: string; model?: string };
  }
  export class UAParser {
    constructor(ua?: string);
    getResult(): UAResult;
  }
}
