/**
 * Swift listings stay well-formed whatever the stored names and content types, including ones no request can
 * create any more (stored before the control-character rule): XML parses with a strict XML 1.0 parser, and the
 * plain-text listing has exactly one line per entry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListEntry } from '../../src/core/listing.ts';
import type { Bucket, ObjectRecord } from '../../src/core/types.ts';
import { objectListingPieces, renderContainerListing, renderObjectListing } from '../../src/frontends/swift/listing-format.ts';
import { xmlTexts } from '../helpers/xml.ts';

const HOSTILE = ['line1\nforged-entry.exe', 'cr\r\nlf', 'tab\there', 'soh\u0001', 'nul\u0000', 'fffe\ufffe', 'lone\ud800surrogate', 'plain <&>"\''];

function objectEntry(key: string, contentType = 'text/plain'): ListEntry<ObjectRecord> {
  const item: ObjectRecord = {
    bucket: 'b',
    key,
    versionId: 'v1',
    size: 1,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType,
    lastModified: 0,
    meta: {},
    headers: {},
    deleteAt: null,
  };
  return { kind: 'item', item };
}

void describe('object listings with names no request may create', () => {
  const entries = [...HOSTILE.map((name) => objectEntry(name, `x/${name}`)), { kind: 'prefix' as const, prefix: 'dir\n/' }];

  void test('XML is well-formed; tab, CR and LF survive exactly, the rest become U+FFFD', () => {
    const texts = xmlTexts(renderObjectListing('xml', 'b', entries), 'name', 'content_type');
    assert.equal(texts.name?.length, HOSTILE.length + 1);
    assert.equal(texts.name?.[0], 'line1\nforged-entry.exe');
    assert.equal(texts.name?.[1], 'cr\r\nlf');
    assert.equal(texts.name?.[2], 'tab\there');
    assert.equal(texts.name?.[3], 'soh\ufffd');
    assert.equal(texts.name?.[5], 'fffe\ufffd');
    assert.equal(texts.name?.[6], 'lone\ufffdsurrogate');
    assert.equal(texts.name?.[7], 'plain <&>"\'');
    assert.equal(texts.content_type?.[4], 'x/nul\ufffd');
  });

  void test('plain text has one line per entry', () => {
    const lines = renderObjectListing('plain', 'b', entries).split('\n');
    assert.equal(lines.length, entries.length + 1);
    assert.equal(lines[0], 'line1\ufffdforged-entry.exe');
    assert.equal(lines.at(-1), '');
  });

  void test('JSON carries the names exactly', () => {
    const parsed = JSON.parse(renderObjectListing('json', 'b', entries)) as { name?: string; subdir?: string }[];
    assert.deepEqual(parsed.slice(0, HOSTILE.length).map((e) => e.name), HOSTILE);
    assert.equal(parsed.at(-1)?.subdir, 'dir\n/');
  });
});

void describe('container listings', () => {
  test('a container name with a control character keeps the XML and plain listings well-formed', () => {
    const bucket = { name: 'bad\u0002name', objectCount: 0, bytes: 0, updatedAt: 0, changedAt: 0 } as Bucket;
    const entries: ListEntry<Bucket>[] = [{ kind: 'item', item: bucket }];
    assert.deepEqual(xmlTexts(renderContainerListing('xml', 'acct\u0003', entries), 'name').name, ['bad\ufffdname']);
    assert.equal(renderContainerListing('plain', 'acct', entries), 'bad\ufffdname\n');
  });
});

void describe('listings made in pieces', () => {
  const many: ListEntry<ObjectRecord>[] = Array.from({ length: 1201 }, (_, i) => (i % 100 === 99 ? { kind: 'prefix' as const, prefix: `d${i}/` } : objectEntry(`k${i}`)));

  test('the pieces of a long listing add up to one JSON array, one XML document, one line per entry', () => {
    const json = renderObjectListing('json', 'b', many);
    const parsed = JSON.parse(json) as { name?: string; subdir?: string }[];
    assert.deepEqual(
      parsed.map((e) => e.name ?? e.subdir),
      many.map((e) => (e.kind === 'item' ? e.item.key : e.prefix)),
    );
    assert.doesNotMatch(json, /,,|\[,|,\]/);
    assert.equal(xmlTexts(renderObjectListing('xml', 'b', many), 'name').name?.length, many.length);
    assert.equal(renderObjectListing('plain', 'b', many).split('\n').length, many.length + 1);
    assert.equal(renderObjectListing('json', 'b', []), '[]');
    assert.ok([...objectListingPieces('json', 'b', many)].length > 3, 'more than one piece of entries');
  });
});

