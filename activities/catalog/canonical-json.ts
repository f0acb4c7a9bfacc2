/**
 * Canonical JSON: object keys sorted by code point, no whitespace, undefined
 * members dropped. Two equal values always give the same bytes, which is what
 * MACs, signatures and "rebuilt equals live" comparisons need.
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) throw new TypeError('canonicalJson: undefined has no JSON form');
  return encode(value);
}

function encode(value: JsonValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(encode).join(',')}]`;
  const object = value as { readonly [key: string]: JsonValue | undefined };
  const members = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${encode(object[key] as JsonValue)}`);
  return `{${members.join(',')}}`;
}
