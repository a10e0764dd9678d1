/** XML both ways, by fast-xml-builder and fast-xml-parser: S3's bodies built from plain objects, and request bodies parsed with DOCTYPE and entities refused. */
import XMLBuilder from 'fast-xml-builder';
import { XMLParser } from 'fast-xml-parser';
import { S3Error } from './errors.ts';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({
  ignoreAttributes: true,
  // XML's five predefined entities (&quot; around ETags, &amp; in keys); declared ones cannot occur (parseXml refuses DOCTYPE).
  processEntities: true,
  parseTagValue: false,
  trimValues: true,
  removeNSPrefix: true,
  // Elements that may repeat come back as arrays always, however many there are.
  isArray: (name) => REPEATED.has(name),
});
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
