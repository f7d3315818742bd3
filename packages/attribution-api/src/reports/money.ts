// Money as decimal strings, never floats: sums come exact from PostgreSQL's numeric, and a cost per
// call is divided here in integers and rounded half up to the currency's minor unit.

const SCALE = 6;
const digitsCache = new Map<string, number>();

/** Digits after the point in the currency's minor unit: 2 for USD, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** A non-negative decimal string as an integer of millionths. */
function toMicros(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(fraction) || fraction.length > SCALE) {
    throw new RangeError(`not a decimal amount with at most ${SCALE} decimals: ${amount}`);
  }
  return BigInt(whole + fraction.padEnd(SCALE, '0'));
}

function fromScaled(value: bigint, digits: number): string {
  const text = value.toString().padStart(digits + 1, '0');
  return digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
}

/** An amount written with at least the currency's minor digits, keeping any finer ones: 1500 → 1500.00. */
export function formatAmount(amount: string, currency: string): string {
  const digits = minorDigits(currency);
  const [whole = '0', fraction = ''] = amount.split('.');
  const kept = fraction.replace(/0+$/, '');
  const shown = kept.length > digits ? kept : kept.padEnd(digits, '0');
  return shown ? `${whole}.${shown}` : whole;
}

/** amount ÷ count, rounded half up to the currency's minor unit; null when count is 0. */
export function perUnit(amount: string, count: number, currency: string): string | null {
  if (count <= 0) return null;
  const digits = minorDigits(currency);
  // micros / 10^(SCALE - digits) gives minor units; divide by count with half-up rounding.
  const numerator = toMicros(amount);
  const denominator = BigInt(count) * 10n ** BigInt(SCALE - digits);
  const rounded = (numerator * 2n + denominator) / (2n * denominator);
  return fromScaled(rounded, digits);
}
