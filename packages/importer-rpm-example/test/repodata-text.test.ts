import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32Combine } from '../src/publish/crc32-combine';
import { xmlAttribute, xmlText } from '../src/publish/repodata-xml-text';

test('crc32Combine gives the CRC-32 of the parts joined, whatever their lengths', () => {
  for (const [a, b] of [
    [Buffer.from('hello '), Buffer.from('world')],
    [Buffer.alloc(0), Buffer.from('x')],
    [Buffer.from('abc'), Buffer.alloc(0)],
    [randomBytes(100_000), randomBytes(77_777)],
    [randomBytes(3), randomBytes(1 << 20)],
  ] as const) {
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
  }
});

test("text and attributes are escaped as createrepo_c's libxml2 writes them", () => {
  expect(xmlText('a & b <c> "d" \'e\'\tf\r\nü 🚀')).toBe('a &amp; b &lt;c&gt; "d" \'e\'\tf&#13;\nü 🚀');
  expect(xmlAttribute('Jörg <j@x> & "q"\t\n\r🚀')).toBe('J&#xF6;rg &lt;j@x&gt; &amp; &quot;q&quot;&#9;&#10;&#13;&#x1F680;');
  expect(xmlAttribute('plain-1.0~rc1')).toBe('plain-1.0~rc1');
});
