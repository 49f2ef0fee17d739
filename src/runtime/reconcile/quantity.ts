/**
 * Kubernetes resource quantities ("100m", "0.5", "512Mi", "1e3") as exact numbers, so the drift check
 * can tell that the "0.5" a user wrote and the "500m" the server stores are the same.
 * Values are scaled to nano-units and kept as bigint, so no float rounding is involved.
 */
const binary: Record<string, bigint> = {
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};
const decimalExponent: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** Largest power of ten (in nano-units) compared exactly; beyond it a quantity counts as not comparable. */
const maxExponent = 64;

const pattern = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * The quantity in nano-units (1 = 1e-9), or undefined when it is not a valid quantity or its exponent
 * is absurd (then the drift check applies it, and the API server, which knows the limits, answers).
 */
export function parseQuantity(text: string): bigint | undefined {
  // Specs repeat the same few quantities ("100m", "512Mi") thousands of times: remember them.
  if (memo.has(text)) return memo.get(text);
  const value = parse(text);
  if (memo.size >= 1024) memo.clear();
  memo.set(text, value);
  return value;
}

const memo = new Map<string, bigint | undefined>();

function parse(text: string): bigint | undefined {
  const m = pattern.exec(text.trim());
  if (!m) return undefined;
  const [, sign, number, suffix = ''] = m as unknown as [string, string, string, string | undefined];
  const [whole = '0', fraction = ''] = number.split('.');
  // number = digits / 10^fraction.length
  let value = BigInt((whole || '0') + fraction);
  let exponent = -fraction.length + 9; // to nano-units
  if (suffix in binary) {
    value *= binary[suffix] as bigint;
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    exponent += Number.parseInt(suffix.slice(1), 10);
  } else {
    exponent += decimalExponent[suffix] ?? 0;
  }
  // No real quantity needs more (Ei is 10^18.06); expanding 1e999999999 would block the event loop.
  if (Math.abs(exponent) > maxExponent) return undefined;
  if (exponent >= 0) value *= 10n ** BigInt(exponent);
  else {
    // Below a nano-unit the server rounds up; so do we.
    const divisor = 10n ** BigInt(-exponent);
    value = (value + divisor - 1n) / divisor;
  }
  return sign === '-' ? -value : value;
}
