import { type CountryCode, isSupportedCountry, parsePhoneNumberWithError } from 'libphonenumber-js';

/** A phone number in every form the snippet and the API show it. */
export interface PhoneDisplay {
  e164: string;
  /** Country calling code, without "+". */
  cc: string;
  /** National significant number: the digits after the country code. */
  nsn: string;
  national: string;
  international: string;
}

/** A number already in E.164 form, as carriers send them: `+`, a country code, at most 15 digits. */
export const E164 = /^\+[1-9]\d{1,14}$/;

export class InvalidPhoneNumber extends Error {}

export function isCountry(code: string): code is CountryCode {
  return isSupportedCountry(code);
}

/** Parses a number as a person would type it for `country`, and returns its E.164 form. */
export function toE164(input: string, country: string): string {
  if (!isCountry(country)) throw new InvalidPhoneNumber(`unknown country "${country}"`);
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = parsePhoneNumberWithError(input, country);
  } catch {
    throw new InvalidPhoneNumber(`"${input}" is not a phone number`);
  }
  if (!parsed.isValid()) throw new InvalidPhoneNumber(`"${input}" is not a valid phone number for ${country}`);
  return parsed.number;
}

const displays = new Map<string, PhoneDisplay>();

/** Display forms of an E.164 number (cached: formatting is the costly part of a session response). */
export function displayOf(e164: string): PhoneDisplay {
  let display = displays.get(e164);
  if (!display) {
    const parsed = parsePhoneNumberWithError(e164);
    display = {
      e164,
      cc: parsed.countryCallingCode,
      nsn: parsed.nationalNumber,
      national: parsed.formatNational(),
      international: parsed.formatInternational(),
    };
    if (displays.size > 100_000) displays.clear();
    displays.set(e164, display);
  }
  return display;
}
