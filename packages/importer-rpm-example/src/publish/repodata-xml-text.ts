/**
 * Escaping as createrepo_c's output has it (libxml2 serialising without an output encoding):
 * text keeps its characters but `&`, `<`, `>` and CR; attribute values also escape `"`, tab and
 * newline, and every character outside ASCII as a hexadecimal character reference (`J&#xF6;rg`).
 * Byte for byte what createrepo_c writes for the same values, so generated repodata diffs cleanly
 * against createrepo_c's.
 */

const TEXT_SPECIAL = /[&<>\r]/;
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r\u0080-\uffff]/;

/** Whether {@link xmlText} would change `value`. */
export function needsTextEscape(value: string): boolean {
  return TEXT_SPECIAL.test(value);
}

/** Whether {@link xmlAttribute} would change `value`. */
export function needsAttributeEscape(value: string): boolean {
  return ATTRIBUTE_SPECIAL.test(value);
}

/** `value` as element text. */
export function xmlText(value: string): string {
  if (!TEXT_SPECIAL.test(value)) return value;
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const escaped = c === 38 ? '&amp;' : c === 60 ? '&lt;' : c === 62 ? '&gt;' : c === 13 ? '&#13;' : undefined;
    if (escaped === undefined) continue;
    out += value.slice(from, i) + escaped;
    from = i + 1;
  }
  return out + value.slice(from);
}

/** `value` as an attribute value (without its quotes). */
export function xmlAttribute(value: string): string {
  if (!ATTRIBUTE_SPECIAL.test(value)) return value;
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let escaped: string | undefined;
    if (c < 128) {
      escaped = c === 38 ? '&amp;' : c === 60 ? '&lt;' : c === 62 ? '&gt;' : c === 34 ? '&quot;' : c === 9 ? '&#9;' : c === 10 ? '&#10;' : c === 13 ? '&#13;' : undefined;
      if (escaped === undefined) continue;
      out += value.slice(from, i) + escaped;
      from = i + 1;
      continue;
    }
    const codePoint = value.codePointAt(i)!;
    out += `${value.slice(from, i)}&#x${codePoint.toString(16).toUpperCase()};`;
    if (codePoint > 0xffff) i++;
    from = i + 1;
  }
  return out + value.slice(from);
}
