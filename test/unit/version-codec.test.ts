/** core/version-codec.ts: version rows packed into arrays and read back, whatever their data, state and age. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VersionData, VersionRow } from '../../src/core/model.ts';
import { packVersion, unpackVersion } from '../../src/core/version-codec.ts';

const encryption = { wrappedKey: 'd3JhcHBlZA', iv: 'aXY' };

function version(data: VersionData, extra: Partial<VersionRow> = {}): VersionRow {
  return {
    id: '01a237f3333c00e84bad348ff29e8ee6',
    state: 'complete',
    createdAt: 1_796_235_014_972,
    lastModified: 1_796_235_020_001,
    size: 4096,
    etag: '91bba24e9e4912e823c00920ced3e85c',
    contentType: 'application/octet-stream',
    meta: { color: '파랑' },
    headers: { 'content-disposition': 'attachment' },
    deleteAt: null,
    data,
    ...extra,
  };
}

const cases: [string, VersionRow][] = [
  ['a small object', version({ kind: 'attached', encryption: null })],
  ['an encrypted small object', version({ kind: 'attached', encryption })],
  ['a small object of an earlier build', version({ kind: 'inline', encryption: null })],
  ['a blob', version({ kind: 'blob', blobId: 'b1', size: 4096, encryption: null }, { deleteAt: 1_900_000_000_000 })],
  ['parts', version({ kind: 'parts', parts: [{ blobId: 'p1', size: 5, encryption }, { blobId: 'p2', size: 7, encryption }] })],
  ['an upload under way', version({ kind: 'blob', blobId: 'b2', size: 0, encryption: null }, { state: 'uploading', size: 0, meta: {}, headers: {} })],
  ['a delete marker', version({ kind: 'attached', encryption: null }, { state: 'delete-marker', size: 0 })],
  ['a current version with tags', version({ kind: 'attached', encryption: null }, { named: true, tags: [{ key: 'a', value: '1' }, { key: '키', value: '' }] })],
  [
    'a non-current version under retention and a legal hold',
    version({ kind: 'blob', blobId: 'b3', size: 4096, encryption: null }, { named: true, noncurrentSince: 1_796_235_030_000, retention: { mode: 'COMPLIANCE', retainUntil: 1_900_000_000_000 }, legalHold: true }),
  ],
  ['a null version whose legal hold was turned off', version({ kind: 'attached', encryption: null }, { legalHold: false, retention: { mode: 'GOVERNANCE', retainUntil: 1_800_000_000_000 } })],
];

describe('version rows', () => {
  for (const [name, row] of cases) {
    test(`${name}: packed as an array, read back equal`, () => {
      const stored: unknown = JSON.parse(JSON.stringify(packVersion(row)));
      assert.ok(Array.isArray(stored));
      assert.deepEqual(unpackVersion(stored), row);
    });
  }

  test('packed, a small object takes well under half the bytes of the object form', () => {
    const row = version({ kind: 'attached', encryption: null }, { meta: {}, headers: {} });
    const packed = JSON.stringify(packVersion(row)).length;
    assert.ok(packed * 2 < JSON.stringify(row).length, `${packed} vs ${JSON.stringify(row).length}`);
  });

  test('a row stored as an object (before packing) reads as it is', () => {
    const row = version({ kind: 'blob', blobId: 'b1', size: 4096, encryption });
    assert.deepEqual(unpackVersion(JSON.parse(JSON.stringify(row))), row);
  });

  test('a packed form this build does not know is an error, not a wrong row', () => {
    const packed = packVersion(version({ kind: 'attached', encryption: null }));
    assert.throws(() => unpackVersion([2, ...packed.slice(1)]), /form this build does not know/);
    assert.throws(() => unpackVersion([1, ...packed.slice(1, 2), 7, ...packed.slice(3)]), /form this build does not know/);
  });
});
