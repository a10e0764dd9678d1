/** XML both ways, by fast-xml-builder and fast-xml-parser: S3's bodies built from plain objects, and request bodies parsed with DOCTYPE and entities refused. */
import XMLBuilder from 'fast-xml-builder';
import { XMLParser, type EntityDecoderOptions } from 'fast-xml-parser';
import { S3Error } from './errors.ts';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({
  ignoreAttributes: true,
  processEntities: true,
  entityDecoder: xmlEntityDecoder(),
  parseTagValue: false,
  trimValues: true,
  removeNSPrefix: true,
  // Elements that may repeat come back as arrays always, however many there are.
  isArray: (name) => REPEATED.has(name),
});
/**
 * XML's five predefined entities (`&quot;` around ETags, `&amp;` in keys) and character references (`&#34;`: Go's
 * encoding/xml, rclone's, escapes an ETag's quotes so); declared ones cannot occur (parseXml refuses DOCTYPE).
 */
function xmlEntityDecoder(): EntityDecoderOptions {
  const named: Readonly<Record<string, string>> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' };
  const decodeOne = (whole: string, name: string): string => {
    if (!name.startsWith('#')) return named[name] ?? whole;
    const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new Error(`bad character reference ${whole}`);
    return String.fromCodePoint(code);
  };
  const ignore = (): void => {};
  return {
    decode: (text) => (text.includes('&') ? text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, decodeOne) : text),
    setExternalEntities: ignore,
    addInputEntities: ignore,
    reset: ignore,
    setXmlVersion: ignore,
  };
}

const REPEATED = new Set(['Part', 'Object', 'Grant', 'Tag', 'Rule']);

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/** `<root xmlns=…>` with the elements of `content`, in their order; arrays repeat the element. */
export function buildXml(root: string, content: XmlNode, namespace = true): string {
  const node: XmlNode = namespace ? { '@_xmlns': S3_XMLNS, ...content } : content;
  return DECLARATION + builder.build({ [root]: node });
}

/** Parses a request body; a body that is not well-formed XML, or that declares a DOCTYPE or entities, is MalformedXML. */
export function parseXml(body: Buffer | string): Record<string, unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new S3Error('MalformedXML', 400, 'DOCTYPE and entity declarations are not accepted');
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch {
    throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  }
}

/** S3's timestamps in bodies: ISO 8601 with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
