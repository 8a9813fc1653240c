import { ErrorCodes } from '@tributary/plugin-api';

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** How a bad reference is reported: its error code, a message, and where in the text it starts. */
export type ReferenceFailure = (code: typeof ErrorCodes.XML_INVALID | typeof ErrorCodes.XML_ENTITY, message: string, at: number) => never;

/**
 * `text` with XML's five predefined entities and character references decoded. Any other
 * reference is refused through `fail` (TRIBUTARY_ERR_XML_ENTITY: nothing is ever resolved or
 * expanded), as are a bare `&` and a reference to a character XML does not allow
 * (TRIBUTARY_ERR_XML_INVALID).
 */
export function decodeReferences(text: string, fail: ReferenceFailure): string {
  let out = '';
  let last = 0;
  for (let amp = text.indexOf('&'); amp >= 0; amp = text.indexOf('&', last)) {
    const semi = text.indexOf(';', amp);
    const name = semi < 0 ? '' : text.slice(amp + 1, semi);
    if (semi < 0 || semi - amp > 40 || name.length === 0) fail(ErrorCodes.XML_INVALID, `'&' that starts no entity reference`, amp);
    let decoded = PREDEFINED[name];
    if (decoded === undefined && name.charCodeAt(0) === 35) {
      const code = name.charCodeAt(1) === 120 ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      const valid = Number.isInteger(code) && (code === 9 || code === 10 || code === 13 || (code >= 32 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0x10ffff && code !== 0xfffe && code !== 0xffff));
      if (!valid || !/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(name)) fail(ErrorCodes.XML_INVALID, `invalid character reference &${name};`, amp);
      decoded = String.fromCodePoint(code);
    }
    if (decoded === undefined) {
      fail(ErrorCodes.XML_ENTITY, `undefined entity &${name}; — only XML's predefined entities are accepted, none is ever resolved or expanded`, amp);
    }
    out += text.slice(last, amp) + decoded;
    last = semi + 1;
  }
  return out + text.slice(last);
}
