/** Encrypted buckets in the tests: a sample of objects of every shape written into one, and checks on the blob files. */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { allBuckets, scanAll } from '../../src/core/encryption-maintenance.ts';
import { ALL, TABLES, type BlobEncryption } from '../../src/core/model.ts';
import { openMetadataStore } from '../../src/open-stores.ts';
import { s3Client, uploadInParts } from './s3.ts';
import { adminEnv, type RunningServer, type Session } from './server.ts';

export const CHUNK = 64 * 1024;

export interface Written {
  /** The Swift path under the storage URL: `${bucket}/${key}` */
  path: string;
  body: Buffer;
}

export async function createEncryptedBucket(url: string, session: Session, name: string): Promise<void> {
  const response = await fetch(`${url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } }),
  });
  assert.equal(response.status, 201, await response.text());
}

async function swiftPut(session: Session, path: string, body: Buffer | string, query = ''): Promise<void> {
  const response = await fetch(`${session.storageUrl}/${path}${query}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body });
  assert.equal(response.status, 201, `PUT ${path}: ${await response.text()}`);
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

/** Sizes around the 64 KiB chunk: empty, tiny, kept in the metadata store, one chunk exactly, across several. */
export const SIZES = [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 4321, 700_001];

/**
 * Writes the sample into `bucket`: single objects of every size through Swift and S3, a multipart object through
 * S3 (parts not on chunk boundaries; the server must allow small parts: ONGGI_TEST_MIN_PART_SIZE) and a static
 * large object through Swift. Random bytes, so that any run of them found on disk is a leak.
 */
export async function writeSample(server: RunningServer, session: Session, bucket: string, tag = ''): Promise<Written[]> {
  const written: Written[] = [];
  for (const size of SIZES) {
    const body = randomBytes(size);
    await swiftPut(session, `${bucket}/swift${tag}-${size}`, body);
    written.push({ path: `${bucket}/swift${tag}-${size}`, body });
  }
  const s3 = s3Client(server);
  for (const size of [CHUNK, 150_000]) {
    const body = randomBytes(size);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `s3${tag}-${size}`, Body: body }));
    written.push({ path: `${bucket}/s3${tag}-${size}`, body });
  }
  const parts = [randomBytes(100_003), randomBytes(CHUNK), randomBytes(70_000)];
  s3.destroy();
  await uploadInParts(server, bucket, `multipart${tag}`, parts);
  written.push({ path: `${bucket}/multipart${tag}`, body: Buffer.concat(parts) });
  const segments = [randomBytes(90_000), randomBytes(CHUNK + 3)];
  for (const [i, data] of segments.entries()) await swiftPut(session, `${bucket}/seg${tag}/${i}`, data);
  const manifest = segments.map((data, i) => ({ path: `/${bucket}/seg${tag}/${i}`, etag: md5(data), size_bytes: data.length }));
  await swiftPut(session, `${bucket}/slo${tag}`, JSON.stringify(manifest), '?multipart-manifest=put');
  written.push({ path: `${bucket}/slo${tag}`, body: Buffer.concat(segments) });
  return written;
}

/** GET, whole and by `Range`; the status and the bytes, or the failure of a broken transfer. */
export async function get(session: Session, path: string, range?: string): Promise<{ status: number; body: Buffer; etag: string | null }> {
  const response = await fetch(`${session.storageUrl}/${path}`, { headers: { 'X-Auth-Token': session.token, ...(range ? { Range: range } : {}) } });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), etag: response.headers.get('etag') };
}

/** Random ranges of a body of `size` bytes, weighted to chunk boundaries and the end. */
export function rangesOf(size: number, count = 12): [number, number][] {
  if (size === 0) return [];
  const ranges: [number, number][] = [[0, size - 1], [size - 1, size - 1], [Math.max(0, size - 5), size - 1]];
  for (let boundary = CHUNK; boundary < size; boundary += CHUNK) ranges.push([boundary - 1, Math.min(size - 1, boundary)]);
  for (let i = 0; i < count; i++) {
    const start = randomInt(size);
    ranges.push([start, start + randomInt(Math.min(size - start, 3 * CHUNK))]);
  }
  return ranges;
}

/** Every object reads back whole (ETag: MD5 of the plain bytes, for single objects) and at many ranges. */
export async function checkReads(session: Session, written: Written[]): Promise<void> {
  for (const { path, body } of written) {
    const whole = await get(session, path);
    assert.equal(whole.status, 200, path);
    assert.ok(whole.body.equals(body), `${path}: bytes`);
    if (!path.includes('multipart') && !path.includes('slo')) assert.equal(whole.etag?.replaceAll('"', ''), md5(body), `${path}: ETag`);
    for (const [start, end] of rangesOf(body.length)) {
      const part = await get(session, path, `bytes=${start}-${end}`);
      assert.equal(part.status, 206, `${path} ${start}-${end}`);
      assert.ok(part.body.equals(body.subarray(start, end + 1)), `${path} ${start}-${end}: bytes`);
    }
  }
}

/** Every file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * No file under `dir` holds any 32-byte run of a plain body. Every such run holds one of the body's 16-byte
 * blocks at a multiple of 16, so looking for those (at every offset of every file) finds any.
 */
export async function assertNoPlaintext(dir: string, written: Written[]): Promise<void> {
  const blocks = new Set<string>();
  for (const { body } of written) for (let at = 0; at + 16 <= body.length; at += 16) blocks.add(body.toString('latin1', at, at + 16));
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    for (let at = 0; at + 16 <= bytes.length; at++) {
      if (blocks.has(bytes.toString('latin1', at, at + 16))) assert.fail(`${file} holds plain bytes at ${at}`);
    }
  }
}

/** The blob files written by `write`: what is in `blobDir` after it and was not before. */
export async function newBlobFiles(blobDir: string, write: () => Promise<unknown>): Promise<string[]> {
  const before = new Set(await filesUnder(blobDir));
  await write();
  return (await filesUnder(blobDir)).filter((file) => !before.has(file));
}

/**
 * A read of damaged bytes fails: an error status before any body, or a transfer broken off (the response
 * destroyed), never a clean end of other bytes.
 */
export async function assertReadFails(session: Session, path: string, range?: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${session.storageUrl}/${path}`, { headers: { 'X-Auth-Token': session.token, ...(range ? { Range: range } : {}) } });
  } catch {
    return;
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.arrayBuffer();
    return;
  }
  await assert.rejects(response.arrayBuffer(), `${path}${range ? ` ${range}` : ''}: a clean ${response.status} of damaged bytes`);
}

/** Every wrapped data key and sealed S3 secret of the metadata. */
export async function secretsOf(dataDir: string): Promise<{ wrapped: string[]; sealed: string[] }> {
  const meta = await openMetadataStore({ dataDir, metadataUrl: (await adminEnv(dataDir)).ONGGI_METADATA_URL ?? null }, undefined);
  const wrapped: string[] = [];
  const add = (encryption: BlobEncryption | null | undefined): void => {
    if (encryption) wrapped.push(encryption.wrappedKey);
  };
  try {
    const uploads: string[] = [];
    for await (const bucket of allBuckets(meta)) {
      for (const table of [TABLES.objects, TABLES.versions]) {
        for await (const { value } of scanAll(meta, table, bucket.id)) {
          const { data } = value;
          if (data.kind === 'attached' || data.kind === 'inline' || data.kind === 'blob') add(data.encryption);
          if (data.kind === 'parts') data.parts.forEach((part) => add(part.encryption));
          if (data.kind === 'multipart') uploads.push(data.uploadId);
        }
      }
    }
    for (const uploadId of uploads) {
      for await (const { value } of scanAll(meta, TABLES.parts, uploadId)) add(value.encryption);
      for await (const { value } of scanAll(meta, TABLES.partIndex, uploadId)) value.parts.forEach((part) => add(part.encryption));
    }
    const sealed: string[] = [];
    for await (const { value } of scanAll(meta, TABLES.s3Credentials, ALL)) sealed.push(value.sealedSecret);
    return { wrapped, sealed };
  } finally {
    await meta.close();
  }
}
