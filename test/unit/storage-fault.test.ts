/** Failures of the storage itself become typed core errors (507 / 503 at the edge), anything else stays as it is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asOnggiError, OnggiError, storageFault } from '../../src/core/errors.ts';
import { BlobMissingError } from '../../src/store/blob/index.ts';

function withCode(code: string): Error {
  return Object.assign(new Error(code), { code });
}

const table: [string, unknown, string | null][] = [
  ['ENOSPC', withCode('ENOSPC'), 'InsufficientStorage'],
  ['EDQUOT', withCode('EDQUOT'), 'InsufficientStorage'],
  ['SQLITE_FULL', withCode('SQLITE_FULL'), 'InsufficientStorage'],
  ['EROFS', withCode('EROFS'), 'StorageUnavailable'],
  ['EIO', withCode('EIO'), 'StorageUnavailable'],
  ['ENOENT (a directory gone)', withCode('ENOENT'), 'StorageUnavailable'],
  ['EMFILE', withCode('EMFILE'), 'StorageUnavailable'],
  ['SQLITE_READONLY_DBMOVED', withCode('SQLITE_READONLY_DBMOVED'), 'StorageUnavailable'],
  ['SQLITE_IOERR_WRITE', withCode('SQLITE_IOERR_WRITE'), 'StorageUnavailable'],
  ['a blob file missing', new BlobMissingError('0'.repeat(32)), 'StorageUnavailable'],
  ['a client reset', withCode('ECONNRESET'), null],
  ['SQLITE_CONSTRAINT', withCode('SQLITE_CONSTRAINT_UNIQUE'), null],
  ['a plain Error', new Error('boom'), null],
  ['not an Error', 'boom', null],
  ['null', null, null],
];

for (const [label, err, code] of table) {
  test(label, () => {
    assert.equal(storageFault(err)?.code ?? null, code);
  });
}

test('asOnggiError keeps an OnggiError as it is', () => {
  const err = new OnggiError('NoSuchKey', 'gone');
  assert.equal(asOnggiError(err), err);
});
