/**
 * Escaping for the generated HTML and SVG. Every piece of data that reaches
 * a report (paths, snapshot ids, hostnames, findings) goes through `esc`:
 * snapshot paths are user data and may contain markup.
 */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and double- or single-quoted attributes. */
export function esc(value: string | number | boolean): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
