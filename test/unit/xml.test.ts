import { describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { escapeMarkup, xmlProblem } from '../../src/formats/xml.js';
import { bodyProblem } from '../../src/formats/template/validate.js';
import { defaultBody } from '../../src/formats/template/render.js';
import { whispirXml, type WhispirPayload } from '../../src/formats/whispir.js';

describe('xmlProblem (well-formedness of rendered XML bodies)', () => {
  it('accepts well-formed documents: declaration, namespaces, attributes, entities, comments, CDATA, a BOM', () => {
    for (const doc of [
      '<a/>',
      '<?xml version="1.0" encoding="UTF-8"?><event><id>1</id></event>',
      '<ns2:deliveryResponse xmlns:ns2="http://schemas.api.whispir.com"><x a="1" b=\'2\'/></ns2:deliveryResponse>',
      '<a>&amp; &lt; &gt; &quot; &apos; &#39; &#x41; &#13;&#10;&#9;</a>',
      '<a><!-- note --><![CDATA[ <raw> & ]]></a>',
      '\ufeff<a>é ✓ 😀</a>\n',
    ]) {
      expect(xmlProblem(doc), doc).toBeNull();
    }
  });

  it('refuses malformed documents, naming the line and column of the fault', () => {
    expect(xmlProblem('<a><b>x</a>')).toBe("Expected closing tag 'b' (opened in line 1, col 4) instead of closing tag 'a'. (line 1, column 8)");
    expect(xmlProblem('<a>\n  <b>\n  </c>\n</a>')).toMatch(/closing tag 'c'.*\(line 3, column 3\)$/);
    expect(xmlProblem('<a>x & y</a>')).toMatch(/'&'.*\(line 1, column 6\)$/);
    expect(xmlProblem('<a x=1/>')).toMatch(/Attribute 'x' is without value.*\(line 1, column \d+\)$/);
    expect(xmlProblem('<a x="1" x="2"/>')).toMatch(/Attribute 'x' is repeated.*\(line 1, column \d+\)$/);
    expect(xmlProblem('<a>\n<b>')).toMatch(/\(line 1, column 1\)$/);
    expect(xmlProblem('text<a/>')).toMatch(/\(line 1, column 1\)$/);
    expect(xmlProblem('<a></a><b></b>')).toMatch(/root/);
    // XMLValidator lets self-closing roots through; counted after it.
    expect(xmlProblem('<a/><b/>')).toBe('a document has one root element, this one 2 (line 1)');
    expect(xmlProblem('<!-- c --><a/><!-- d -->')).toBeNull();
    expect(xmlProblem('')).toMatch(/\(line 1\)$/);
  });

  it("is what the template format's save check reports for an xml body", () => {
    expect(bodyProblem('xml', defaultBody('xml'))).toBeNull();
    expect(bodyProblem('xml', '<a>\n<b>v</a>')).toBe(
      "is not well-formed XML once rendered (Expected closing tag 'b' (opened in line 2, col 1) instead of closing tag 'a'. (line 2, column 5))",
    );
  });
});

describe('escapeMarkup (the one XML escape)', () => {
  const parser = new XMLParser({ processEntities: true, htmlEntities: true, trimValues: false, parseTagValue: false, ignoreAttributes: false, parseAttributeValue: false });
  const nasty = 'q"uote\' <tag attr="x"> & &amp; \\ back\r\nline\ttab é ✓ 😀 \u2028 %20 ]]> {}';

  it('gives a value that an XML parser reads back unchanged, in text and in attributes', () => {
    const doc = `<r a="${escapeMarkup(nasty)}">${escapeMarkup(nasty)}</r>`;
    expect(xmlProblem(doc)).toBeNull();
    const parsed = parser.parse(doc) as { r: { '#text': string; '@_a': string } };
    expect(parsed.r['#text']).toBe(nasty);
    expect(parsed.r['@_a']).toBe(nasty);
  });

  it('replaces characters XML forbids with U+FFFD, so the document stays well-formed', () => {
    expect(escapeMarkup('a\u0000b\u0008c\u001fd\uffff')).toBe('a\ufffdb\ufffdc\ufffdd\ufffd');
  });

  it("escapes Whispir's XML payload the same way", () => {
    const p: WhispirPayload = {
      messageid: 'm<1>',
      messagelocation: null,
      from: { name: nasty, mri: '', mobile: '+1', email: '', voice: '' },
      responseMessage: { channel: 'SMS', acknowledged: '01/01/26 00:00', content: 'a & b\u0001' },
      customParameters: { 'k"': "v'" },
    };
    const xml = whispirXml(p);
    expect(xml).toContain(`<name>${escapeMarkup(nasty)}</name>`);
    expect(xml).toContain('<messageid>m&lt;1&gt;</messageid>');
    expect(xml).toContain('<content>a &amp; b\ufffd</content>');
    expect(xmlProblem(xml)).toBeNull();
  });
});
