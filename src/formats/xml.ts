import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Top-level nodes in document order: to count the root elements XMLValidator lets through (`<a/><b/>`). */
const topLevel = new XMLParser({ preserveOrder: true, commentPropName: '#comment' });

const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };

/**
 * XML/HTML text and attribute values: markup characters as entities; CR, LF and TAB as character
 * references (parsers would otherwise normalise them); characters XML forbids become U+FFFD.
 * The one XML escape of the formats (template bodies, Whispir's XML payload).
 *
 * @example escapeMarkup('a < b & "c"\n') // 'a &lt; b &amp; &quot;c&quot;&#10;'
 */
export function escapeMarkup(s: string): string {
  return s.replace(XML_INVALID, '\ufffd').replace(/[&<>"'\r\n\t]/g, (c) => ENTITIES[c]!);
}

/**
 * Why a document is not well-formed XML, with where (fast-xml-parser's XMLValidator: balanced
 * and well-named tags, quoted and unrepeated attributes, entity references, a root element); null
 * when it is.
 *
 * @example xmlProblem('<a><b></a>') // "Expected closing tag 'b' (opened in line 1, col 4) instead of closing tag 'a'. (line 1, column 7)"
 */
export function xmlProblem(s: string): string | null {
  const result = XMLValidator.validate(s);
  if (result === true) {
    const roots = (topLevel.parse(s) as Record<string, unknown>[]).filter((node) => {
      const name = Object.keys(node).find((k) => k !== ':@');
      return name !== undefined && !name.startsWith('?') && name !== '#comment' && name !== '#text';
    }).length;
    return roots === 1 ? null : `a document has one root element, this one ${roots} (line 1)`;
  }
  const { msg, line, col } = result.err;
  return `${msg} (line ${line}${col !== undefined ? `, column ${col}` : ''})`;
}
