/**
 * `onggi admin encryption rotate`: installs a new master key. Every data key is unwrapped with the current key and
 * wrapped again with the new one, row by row (object bodies are not rewritten); S3 secrets are sealed again under
 * fresh keys; the credential keys to go on with are sealed under the new key. Resumable: the rotation is recorded
 * first (servers refuse to start while it is), each row is taken in its own transaction and only when the new key
 * does not open it yet, and the switch of the recorded key check, the credential keys and the end of the rotation
 * is one transaction. Afterwards the old master key opens nothing of the metadata.
 *
 * Either key may be kept by a hardware module (module-master.ts): the module's wrapping of its master key is then
 * recorded with the rotation and kept as MODULE_MASTER_SETTING at the switch (or that setting removed, out of it).
 */
import type { MetadataStore, Table, Tx } from '../store/meta/index.ts';
import { allBuckets, scanAll } from './encryption-maintenance.ts';
import { AUTH_KEYS_SETTING, KEY_CHECK_SETTING, MODULE_MASTER_SETTING, ROTATION_SETTING } from './key-check.ts';
import { ALL, TABLES, type BlobEncryption, type PartBatchRow, type PartRow, type VersionData, type VersionRow } from './model.ts';
import { MasterKeyError, type ServerKeys } from './server-keys.ts';

export interface RotationReport {
  /** Version rows, parts and part index rows whose data keys were wrapped again. */
  rows: number;
  /** S3 secrets sealed again. */
  credentials: number;
}

export interface RotationRecord {
  to: string;
  authKeys: string;
  /** Into a hardware module: the new master key as the module wrapped it, so that a second run takes the same. */
  moduleMaster?: string;
}

/** Rotates from `current` (the key the metadata was written with) to `next`. */
export async function rotateMasterKey(store: MetadataStore, current: ServerKeys, next: ServerKeys): Promise<RotationReport> {
  if (current.checkValue === next.checkValue) throw new MasterKeyError('the new master key is the current one');
  const record = await begin(store, current, next);
  next.adoptAuthKeys(record.authKeys);
  const rewrap = (encryption: BlobEncryption): BlobEncryption | null => {
    // SSE-C: wrapped under the customer's key, which the server does not have and the rotation does not need.
    if (encryption.customer !== undefined || opens(next, encryption)) return null;
    return { ...encryption, wrappedKey: next.wrapDataKey(current.unwrapDataKey(encryption.wrappedKey)) };
  };
  const report: RotationReport = { rows: 0, credentials: 0 };
  const uploads = new Set<string>();
  for await (const bucket of allBuckets(store)) {
    for (const table of [TABLES.objects, TABLES.versions]) {
      for await (const entry of scanAll(store, table, bucket.id)) {
        if (entry.value.data.kind === 'multipart') uploads.add(entry.value.data.uploadId);
        if (await rewrapVersion(store, table, bucket.id, entry.sk, rewrap)) report.rows++;
      }
    }
    for await (const upload of scanAll(store, TABLES.uploads, bucket.id)) uploads.add(upload.value.id);
  }
  for (const uploadId of uploads) report.rows += await rewrapUpload(store, uploadId, rewrap);
  report.credentials = await resealCredentials(store, current, next);
  await store.transact(async (tx) => {
    tx.put(TABLES.settings, ALL, KEY_CHECK_SETTING, { value: next.checkValue });
    tx.put(TABLES.settings, ALL, AUTH_KEYS_SETTING, { value: record.authKeys });
    if (next.moduleMaster !== null) tx.put(TABLES.settings, ALL, MODULE_MASTER_SETTING, { value: next.moduleMaster });
    else tx.delete(TABLES.settings, ALL, MODULE_MASTER_SETTING);
    tx.delete(TABLES.settings, ALL, ROTATION_SETTING);
  });
  return report;
}

/** The rotation under way (to this very key), or a new one recorded now. */
async function begin(store: MetadataStore, current: ServerKeys, next: ServerKeys): Promise<RotationRecord> {
  return store.transact(async (tx) => {
    const row = await tx.get(TABLES.settings, ALL, ROTATION_SETTING);
    if (row) {
      const record = JSON.parse(row.value.value) as RotationRecord;
      if (record.to !== next.checkValue) throw new MasterKeyError('a rotation to another master key is under way: run it again with that key to finish it');
      return record;
    }
    const record: RotationRecord = { to: next.checkValue, authKeys: current.authKeysFor(next), ...(next.moduleMaster !== null ? { moduleMaster: next.moduleMaster } : {}) };
    tx.put(TABLES.settings, ALL, ROTATION_SETTING, { value: JSON.stringify(record) }, { ifVersion: null });
    return record;
  });
}

function opens(keys: ServerKeys, encryption: BlobEncryption): boolean {
  try {
    keys.unwrapDataKey(encryption.wrappedKey);
    return true;
  } catch {
    return false;
  }
}

type Rewrap = (encryption: BlobEncryption) => BlobEncryption | null;

/** The version's data with every data key wrapped again; null when none needed it. */
function rewrapData(data: VersionData, rewrap: Rewrap): VersionData | null {
  switch (data.kind) {
    case 'attached':
    case 'inline':
    case 'blob': {
      const encryption = data.encryption ? rewrap(data.encryption) : null;
      return encryption ? { ...data, encryption } : null;
    }
    case 'parts': {
      const parts = rewrapList(data.parts, rewrap);
      return parts ? { kind: 'parts', parts } : null;
    }
    default:
      return null;
  }
}

/** The list with every data key wrapped again; null when none needed it. */
function rewrapList<T extends { encryption: BlobEncryption | null }>(list: readonly T[], rewrap: Rewrap): T[] | null {
  let changed = false;
  const next = list.map((item) => {
    const encryption = item.encryption ? rewrap(item.encryption) : null;
    if (!encryption) return item;
    changed = true;
    return { ...item, encryption };
  });
  return changed ? next : null;
}

async function rewrapVersion(store: MetadataStore, table: Table<VersionRow>, bucketId: string, sk: string, rewrap: Rewrap): Promise<boolean> {
  return store.transact(async (tx) => {
    const row = await tx.getAttached(table, bucketId, sk);
    const data = row ? rewrapData(row.value.data, rewrap) : null;
    if (!row || !data) return false;
    const next: VersionRow = { ...row.value, data };
    if (row.attachment) tx.putAttached(table, bucketId, sk, next, row.attachment, { ifVersion: row.version });
    else tx.put(table, bucketId, sk, next, { ifVersion: row.version });
    return true;
  });
}

async function rewrapUpload(store: MetadataStore, uploadId: string, rewrap: Rewrap): Promise<number> {
  let rows = 0;
  for await (const part of scanAll(store, TABLES.parts, uploadId)) {
    const done = await store.transact(async (tx) => rewrapRow(tx, TABLES.parts, uploadId, part.sk, (value: PartRow) => {
      const encryption = value.encryption ? rewrap(value.encryption) : null;
      return encryption ? { ...value, encryption } : null;
    }));
    if (done) rows++;
  }
  for await (const batch of scanAll(store, TABLES.partIndex, uploadId)) {
    const done = await store.transact(async (tx) => rewrapRow(tx, TABLES.partIndex, uploadId, batch.sk, (value: PartBatchRow) => {
      const parts = rewrapList(value.parts, rewrap);
      return parts ? { parts } : null;
    }));
    if (done) rows++;
  }
  return rows;
}

async function rewrapRow<V>(tx: Tx, table: Table<V>, pk: string, sk: string, change: (value: V) => V | null): Promise<boolean> {
  const row = await tx.get(table, pk, sk);
  const next = row ? change(row.value) : null;
  if (!row || !next) return false;
  tx.put(table, pk, sk, next, { ifVersion: row.version });
  return true;
}

/** Every S3 secret sealed under the new credential keys (those the new key does not open yet). */
async function resealCredentials(store: MetadataStore, current: ServerKeys, next: ServerKeys): Promise<number> {
  let count = 0;
  for await (const entry of scanAll(store, TABLES.s3Credentials, ALL)) {
    const done = await store.transact(async (tx) => rewrapRow(tx, TABLES.s3Credentials, ALL, entry.sk, (value) => {
      if (next.canOpenSecret(value.sealedSecret)) return null;
      return { ...value, sealedSecret: next.sealSecret(current.openSecret(value.sealedSecret)) };
    }));
    if (done) count++;
  }
  return count;
}
