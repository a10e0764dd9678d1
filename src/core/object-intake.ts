/**
 * A request body on its way in: drained into a durable blob — or into memory when it is small enough to live in
 * the metadata store — hashed (MD5, and a blob's CRC-32 for cheap checks of whole reads) and encrypted on the way. Nothing is left behind when it fails.
 */
import type { BlobStore } from '../store/blob/index.ts';
import { isSealedInChunks } from './chunked-gcm.ts';
import type { Cipher } from './cipher.ts';
import type { CustomerSeal } from './customer-keys.ts';
import { INLINE_OBJECT_MAX, MAX_FILE_SIZE } from './constraints.ts';
import { fail } from './errors.ts';
import type { BodyOffload, Md5 } from './body-offload.ts';
import type { VersionData } from './model.ts';

export type BodySource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface ReceivedBody {
  data: VersionData;
  /** The bytes of a small body, kept in the metadata store beside its version row; null for a blob. */
  inline: Buffer | null;
  size: number;
  /** MD5, hex. */
  etag: string;
}

export class BodyIntake {
  constructor(
    private readonly blobs: BlobStore,
    private readonly cipher: Cipher,
    private readonly md5: BodyOffload,
    private readonly onBackgroundError: (err: unknown) => void,
  ) {}

  /**
   * `contentLength`: the declared length (null for a chunked upload); a body that ends short of it fails.
   * `maxSize`: more bytes than this fail (EntityTooLarge). `asBlob`: never kept in memory (a multipart part).
   * `encrypt`: with managed encryption (true), under a customer's key (SSE-C), or not at all.
   */
  async receive(body: BodySource, contentLength: number | null, encrypt: boolean | CustomerSeal, { maxSize = MAX_FILE_SIZE, asBlob = false, overQuota = false } = {}): Promise<ReceivedBody> {
    const small = !asBlob && contentLength !== null && contentLength <= INLINE_OBJECT_MAX;
    const customer = typeof encrypt === 'object' ? encrypt : null;
    const encrypted = customer ? this.cipher.forCustomer(customer.key, customer.check).seal() : encrypt ? this.cipher.seal() : null;
    // A blob's CRC-32 is taken with its MD5 (on the worker for large bodies); small bodies have none, nor blobs
    // sealed in authenticated chunks (their GCM tags check their reads; SSE-C's would be a digest of the plaintext
    // kept in the clear besides).
    // A large body in authenticated chunks is hashed and sealed in one pass on the worker thread.
    const sealing = !small && encrypted?.chunks ? this.md5.forSealedBody(contentLength, encrypted.chunks) : null;
    const md5 = sealing ?? this.md5.forBody(contentLength, !small && !isSealedInChunks(encrypted?.encryption));
    let size = 0;
    const source = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxSize) tooLarge(overQuota);
        const hashing = md5.update(chunk);
        if (hashing) await hashing;
        if (sealing) yield* sealing.take();
        else yield encrypted ? encrypted.update(chunk) : chunk;
      }
      if (sealing) yield* await sealing.finish();
      else if (encrypted) yield encrypted.final();
    };
    const encryption = encrypted?.encryption ?? null;
    let blobId = '';
    try {
      // Most small bodies are not encrypted: read them straight, without the generator's turns per chunk.
      const inline = small ? (encrypted ? await collect(source()) : await receiveSmall(body, md5, (n) => (size = n))) : null;
      // Sealed batches go back to the worker once written, to be filled again (their buffers do not pile up for the GC).
      if (!inline) blobId = (await this.blobs.write(source(), sealing ? { written: (chunks) => sealing.release(chunks) } : {})).blobId;
      if (contentLength !== null && size !== contentLength) {
        fail('IncompleteBody', `Received ${size} bytes of the ${contentLength} declared`);
      }
      const etag = await md5.digest();
      const crc = md5.crc32();
      const data: VersionData = inline ? { kind: 'attached', encryption } : { kind: 'blob', blobId, size, encryption, ...(crc === undefined ? {} : { crc32: crc }) };
      return { data, inline, size, etag };
    } catch (err) {
      md5.abort();
      if (blobId) this.removeUncommitted({ kind: 'blob', blobId, size, encryption });
      throw err;
    }
  }

  /** Removes the blobs of a write that never committed. */
  removeUncommitted(data: VersionData): void {
    for (const blobId of referencesOf(data)) this.blobs.delete(blobId).catch(this.onBackgroundError);
  }
}

/** A small body as it comes, hashed on the way; `sized` hears the bytes so far (a body past its length fails). */
async function receiveSmall(body: BodySource, md5: Md5, sized: (bytes: number) => void): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    sized(size);
    if (size > INLINE_OBJECT_MAX) break;
    const hashing = md5.update(chunk);
    if (hashing) await hashing;
    chunks.push(chunk);
  }
  return chunks.length === 1 && Buffer.isBuffer(chunks[0]) ? chunks[0] : Buffer.concat(chunks);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * What a version's data holds a reference on (rows of `blobRefs`): its blobs, or its multipart upload as a whole
 * (`mpu:<upload id>`; the upload's parts are released together when the last version sharing it goes).
 */
export function referencesOf(data: VersionData): readonly string[] {
  switch (data.kind) {
    case 'attached':
    case 'inline':
    case 'dynamic-manifest':
    case 'symlink':
      return [];
    case 'blob':
      return [data.blobId];
    case 'parts':
      return data.parts.map((part) => part.blobId);
    case 'multipart':
      return [uploadReference(data.uploadId)];
    case 'static-manifest':
      return [manifestReference(data.manifestId)];
  }
}

const MANIFEST_REFERENCE = 'slo:';

/** The reference every version sharing a static manifest's segment list counts in. */
export function manifestReference(manifestId: string): string {
  return MANIFEST_REFERENCE + manifestId;
}

/** The static manifest a reference stands for, or null. */
export function manifestOfReference(reference: string): string | null {
  return reference.startsWith(MANIFEST_REFERENCE) ? reference.slice(MANIFEST_REFERENCE.length) : null;
}

const UPLOAD_REFERENCE = 'mpu:';

/** The reference every version sharing a completed upload counts in. */
export function uploadReference(uploadId: string): string {
  return UPLOAD_REFERENCE + uploadId;
}

/** The upload a reference stands for, or null for a blob's. */
export function uploadOfReference(reference: string): string | null {
  return reference.startsWith(UPLOAD_REFERENCE) ? reference.slice(UPLOAD_REFERENCE.length) : null;
}

function tooLarge(overQuota: boolean): never {
  if (overQuota) fail('EntityTooLarge', 'Upload exceeds quota.', { quota: true });
  fail('EntityTooLarge', 'Your request is too large.');
}
