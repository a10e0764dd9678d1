/** XML checks by a real XML 1.0 parser (Python's expat, from Debian's python3 that the interop tests install). */
import { spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, sys, xml.dom.minidom
doc = xml.dom.minidom.parseString(sys.stdin.buffer.read())
def text(node):
    return ''.join(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE)
out = {}
for tag in sys.argv[1:]:
    out[tag] = [text(n) for n in doc.getElementsByTagName(tag)]
print(json.dumps(out))
`;

/** Parses `xml` strictly and returns the text of every element named in `tags`; throws when it is not well-formed. */
export function xmlTexts(xml: string | Buffer, ...tags: string[]): Record<string, string[]> {
  const result = spawnSync(PYTHON, ['-c', SCRIPT, ...tags], { input: xml, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`not well-formed XML: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, string[]>;
}
