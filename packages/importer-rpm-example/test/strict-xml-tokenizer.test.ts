import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SaxesParser } from 'saxes';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { StrictXmlTokenizer } from '../src/xml/strict-xml-tokenizer.js';
import { buildRpmRepo } from '../../../test/fixtures/rpm/build-rpm-repo.js';

type Event = ['open', string, Record<string, string>] | ['close', string] | ['text', string];

/** Events of the importer's tokenizer, fed in chunks of `chunkSize` characters; adjacent texts merged. */
function tokenize(xml: string, chunkSize: number): Event[] {
  const events: Event[] = [];
  const text = (t: string) => {
    const last = events[events.length - 1];
    if (last?.[0] === 'text') last[1] += t;
    else events.push(['text', t]);
  };
  const tokenizer = new StrictXmlTokenizer('test', {
    openTag: (name, attributes) => events.push(['open', name, attributes.toRecord()]),
    closeTag: (name) => events.push(['close', name]),
    text,
  });
  for (let i = 0; i < xml.length; i += chunkSize) tokenizer.write(xml.slice(i, i + chunkSize));
  tokenizer.end();
  return events.filter((e) => e[0] !== 'text' || e[1] !== '');
}

/** The same document through saxes, a conformant XML parser: the reference. */
function reference(xml: string): Event[] {
  const events: Event[] = [];
  let depth = 0;
  const parser = new SaxesParser({ xmlns: false });
  const text = (t: string) => {
    if (depth === 0) return;
    const last = events[events.length - 1];
    if (last?.[0] === 'text') last[1] += t;
    else events.push(['text', t]);
  };
  parser.on('opentag', (tag) => {
    depth++;
    events.push(['open', tag.name, { ...(tag.attributes as Record<string, string>) }]);
  });
  parser.on('closetag', (tag) => {
    depth--;
    events.push(['close', tag.name]);
  });
  parser.on('text', text);
  parser.on('cdata', text);
  parser.write(xml).close();
  return events.filter((e) => e[0] !== 'text' || e[1] !== '');
}

function refusal(xml: string, chunkSize = 5): string | undefined {
  try {
    tokenize(xml, chunkSize);
    return undefined;
  } catch (error) {
    if (isTributaryError(error)) return error.code;
    throw error;
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-xml-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the strict tokenizer reads documents exactly as a conformant parser does', () => {
  test('every metadata file createrepo_c and modifyrepo_c write, in any chunking', async () => {
    const repo = await buildRpmRepo(path.join(work, 'repo'), { updateinfo: true });
    const repodata = path.join(repo.dir, 'repodata');
    for (const name of await readdir(repodata)) {
      const bytes = await readFile(path.join(repodata, name));
      const xml = (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
      const expected = reference(xml);
      for (const chunkSize of [1, 3, 7, 64, 1 << 20]) expect(tokenize(xml, chunkSize)).toEqual(expected);
    }
  });

  test('entities, character references, CDATA, comments, PIs, quotes and self-closing tags', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>\n<!-- head -->\n<metadata a='1' b = "x &amp; y &#60;&#x3e;">
  <package><name>a&lt;b&gt;c&quot;d&apos;e &#233;&#x1F600;</name><![CDATA[<raw> & stuff]]><?pi data?><!-- <not-a-tag> -->
  <empty/><empty2 c="&quot;'"/>
  <déjà-vu>ünïcode ✓</déjà-vu></package>
</metadata>\n<!-- tail -->\n`;
    const expected = reference(xml);
    for (const chunkSize of [1, 2, 5, 1000]) expect(tokenize(xml, chunkSize)).toEqual(expected);
  });

  test('a large document cut into large chunks, tokens longer than a chunk included', () => {
    const entry = (i: number) => `<rpm:entry name="lib-${i}.so()(64bit)" flags="GE" epoch="0" ver="${i}.0"/>`;
    const packages = Array.from({ length: 400 }, (_, i) =>
      [
        `<package type="rpm"><name>p&amp;${i}</name><!-- comment ${i} --><description><![CDATA[<cdata ${i}>]]> text &#233; &lt;${i}&gt;</description>`,
        `<rpm:requires>${Array.from({ length: 5 }, (_, k) => entry(i * 5 + k)).join('\n')}</rpm:requires>`,
        i % 97 === 0 ? `<!-- ${'long comment '.repeat(900)} --><long value="${'v'.repeat(9000)}" other='&quot;${i}'/>` : '',
        `<?pi ${i}?></package>`,
      ].join('\n'),
    );
    const xml = `<?xml version="1.0"?>\n<metadata xmlns:rpm="r">\n${packages.join('\n')}\n</metadata>\n`;
    const expected = reference(xml);
    for (const chunkSize of [4097, 5000, 12345, 65536]) expect(tokenize(xml, chunkSize)).toEqual(expected);
  });
});

describe('the strict tokenizer refuses what a conformant parser refuses', () => {
  test.each([
    ['mismatched end tag', '<a><b></a></b>'],
    ['unclosed element', '<a><b></b>'],
    ['truncated tag', '<a><b attr="x'],
    ['unquoted attribute', '<a b=c></a>'],
    ['duplicate attribute', '<a b="1" b="2"></a>'],
    ['"<" in an attribute value', '<a b="<"></a>'],
    ['bare ampersand', '<a>fish & chips</a>'],
    ['invalid character reference', '<a>&#0;</a>'],
    ['two roots', '<a></a><b></b>'],
    ['text outside the root', 'junk<a></a>'],
    ['no root', '<!-- nothing -->'],
    ['end tag with nothing open', '</a>'],
    ['missing space between attributes', '<a b="1"c="2"></a>'],
    ['late XML declaration', '<a></a><?xml version="1.0"?>'],
  ])('%s', (_what, xml) => {
    expect(() => reference(xml)).toThrow();
    expect(refusal(xml)).toBe(ErrorCodes.XML_INVALID);
  });

  test('entity declarations and references are refused as entity errors', () => {
    expect(refusal('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')).toBe(ErrorCodes.XML_ENTITY);
    expect(refusal('<!doctype a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>')).toBe(ErrorCodes.XML_ENTITY);
    expect(refusal('<a>&copy;</a>')).toBe(ErrorCodes.XML_ENTITY);
    expect(refusal('<a b="&e;"/>')).toBe(ErrorCodes.XML_ENTITY);
  });

  test('line and column of an error far into a document are the same in any chunking', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  <p n="${i}">${'x'.repeat(i % 50)}</p>`);
    lines[2500] = '  <p n="bad" n="twice"/>';
    const xml = `<root>\n${lines.join('\n')}\n</root>\n`;
    const where = (chunkSize: number) => {
      try {
        tokenize(xml, chunkSize);
      } catch (error) {
        return (error as { details: object }).details;
      }
      return undefined;
    };
    expect(where(xml.length)).toEqual({ source: 'test', line: 2502, column: 14 });
    for (const chunkSize of [7, 4097, 5003, 65536]) expect(where(chunkSize)).toEqual(where(xml.length));
  });

  test('text a handler does not want is never built but still checked', () => {
    const opened: string[] = [];
    const run = (xml: string) => {
      const tokenizer = new StrictXmlTokenizer('test', {
        wantsText: false,
        openTag: (name, attributes) => opened.push(`${name}: ${attributes.count} ${attributes.get('b') ?? '-'}`),
        closeTag: () => undefined,
        text: () => {
          throw new Error('text was not wanted');
        },
      });
      for (let i = 0; i < xml.length; i += 3) tokenizer.write(xml.slice(i, i + 3));
      tokenizer.end();
    };
    run('<a b="x &amp; y" c="2">text &lt; <![CDATA[cdata]]><d/></a>');
    expect(opened).toEqual(['a: 2 x & y', 'd: 0 -']);
    for (const [xml, code] of [['<a>fish & chips</a>', ErrorCodes.XML_INVALID], ['<a>&nbsp;</a>', ErrorCodes.XML_ENTITY], ['<a>&#0;</a>', ErrorCodes.XML_INVALID]] as const) {
      expect(() => run(xml)).toThrow(expect.objectContaining({ code }));
    }
  });

  test('errors carry the line and column of the offending token', () => {
    try {
      tokenize('<a>\n  <b>\n    </c>\n</a>', 4);
      throw new Error('accepted');
    } catch (error) {
      expect(isTributaryError(error, ErrorCodes.XML_INVALID)).toBe(true);
      expect((error as { details: object }).details).toMatchObject({ line: 3, column: 5 });
    }
  });
});
