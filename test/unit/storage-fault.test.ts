/** Failures of the storage itself become typed core errors (507 / 503 at the edge), anything else stays as it is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asOnggiError, OnggiError, storageFault } from '../../src/core/errors.ts';
import { BlobMissingError } from '../../src/store/blob/index.ts';
import { Contention, StoreFault } from '../../src/store/meta/index.ts';
import { storeFaultOf } from '../../src/store/meta/postgres/errors.ts';

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
  ['a metadata store out of space', new StoreFault('full', 'full'), 'InsufficientStorage'],
  ['a metadata store unavailable', new StoreFault('unavailable', 'gone'), 'StorageUnavailable'],
  ['a transaction given up under contention', new Contention(20), 'Busy'],
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

/** PostgreSQL's errors, as the PostgreSQL store reports them to core: a StoreFault of a kind, or passed on as they are. */
const postgres: [string, Error, StoreFault['kind'] | null][] = [
  ['disk_full (53100)', withCode('53100'), 'full'],
  ['admin_shutdown (57P01): a restart, a terminated backend', withCode('57P01'), 'unavailable'],
  ['cannot_connect_now (57P03): starting up', withCode('57P03'), 'unavailable'],
  ['connection_failure (08006)', withCode('08006'), 'unavailable'],
  ['too_many_connections (53300)', withCode('53300'), 'unavailable'],
  ['read_only_sql_transaction (25006): a standby after a failover', withCode('25006'), 'unavailable'],
  ['a refused connection', withCode('ECONNREFUSED'), 'unavailable'],
  ['a connection lost (node-postgres, no code)', new Error('Connection terminated unexpectedly'), 'unavailable'],
  ['the pool waited too long', new Error('timeout exceeded when trying to connect'), 'unavailable'],
  ['serialization_failure (40001): retried by the store instead', withCode('40001'), null],
  ['unique_violation (23505)', withCode('23505'), null],
  ['a plain Error', new Error('boom'), null],
];

for (const [label, err, kind] of postgres) {
  test(`PostgreSQL: ${label}`, () => {
    assert.equal(storeFaultOf(err)?.kind ?? null, kind);
  });
}
