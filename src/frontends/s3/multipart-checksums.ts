/**
 * S3's checksums of multipart uploads. CreateMultipartUpload names an algorithm (`x-amz-checksum-algorithm`) and a
 * type (`x-amz-checksum-type`): COMPOSITE, the checksum of the parts' binary checksums with `-<parts>` (CRC32,
 * CRC32C, SHA1, SHA256), or FULL_OBJECT, the CRC of the whole object combined from the parts' CRCs (CRC32, CRC32C,
 * CRC64NVME). Each part's checksum is verified as it streams and kept with the part; CompleteMultipartUpload
 * checks the part checksums it lists against them and stores the object's checksum with the version, returned
 * with `x-amz-checksum-mode: ENABLED`. The upload's choice is kept in its headers until then.
 */
import { Crc32c } from '@aws-crypto/crc32c';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';
import type { BodySource } from '../../core/object-intake.ts';
import type { ChosenPart, VersionHeaders } from '../../core/uploads.ts';
import type { Metadata } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { CHECKSUM_ALGORITHMS, checksumHeader, checksumName, checksummer, isChecksumAlgorithm, type ChecksumAlgorithm } from './checksums.ts';
import { crcCombiner, crcFromBase64, crcToBase64, crcWidth, type CombinableCrc } from './crc-combine.ts';
import { S3Error } from './errors.ts';
import type { XmlNode } from './xml.ts';

export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  type: ChecksumType;
}

/** Where an upload keeps its choice until completion (never on the version). */
const ALGORITHM_KEY = 'x-amz-checksum-algorithm';
const TYPE_KEY = 'x-amz-checksum-type';

const FULL_OBJECT_ALGORITHMS: ReadonlySet<ChecksumAlgorithm> = new Set(['crc32', 'crc32c', 'crc64nvme']);
const COMPOSITE_ALGORITHMS: ReadonlySet<ChecksumAlgorithm> = new Set(['crc32', 'crc32c', 'sha1', 'sha256']);

/** The checksum a CreateMultipartUpload asks for (null: none). */
export function uploadChecksumOf(req: IncomingMessage): UploadChecksum | null {
  const algorithmText = headerValue(req, 'x-amz-checksum-algorithm')?.trim().toLowerCase();
  const typeText = headerValue(req, 'x-amz-checksum-type')?.trim().toUpperCase();
  if (algorithmText === undefined) {
    if (typeText !== undefined) throw new S3Error('InvalidRequest', 400, 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    return null;
  }
  if (!isChecksumAlgorithm(algorithmText)) {
    throw new S3Error('InvalidRequest', 400, `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.map(checksumName).join(', ')}]`);
  }
  const type = typeText ?? (algorithmText === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE');
  if (type !== 'COMPOSITE' && type !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 400, 'Value for x-amz-checksum-type header is invalid.');
  const allowed = type === 'FULL_OBJECT' ? FULL_OBJECT_ALGORITHMS : COMPOSITE_ALGORITHMS;
  if (!allowed.has(algorithmText)) throw new S3Error('InvalidRequest', 400, `The ${type} checksum type cannot be used with the ${algorithmText} checksum algorithm.`);
  return { algorithm: algorithmText, type };
}

/** The upload's headers with its checksum choice kept in them. */
export function withUploadChecksum(headers: Metadata, checksum: UploadChecksum | null): Metadata {
  return checksum ? { ...headers, [ALGORITHM_KEY]: checksum.algorithm, [TYPE_KEY]: checksum.type } : headers;
}

export function uploadChecksumIn(headers: Metadata): UploadChecksum | null {
  const algorithm = headers[ALGORITHM_KEY];
  const type = headers[TYPE_KEY];
  if (algorithm === undefined || !isChecksumAlgorithm(algorithm) || (type !== 'COMPOSITE' && type !== 'FULL_OBJECT')) return null;
  return { algorithm, type };
}

/** The response headers of CreateMultipartUpload. */
export function uploadChecksumHeaders(checksum: UploadChecksum | null): Record<string, string> {
  return checksum ? { 'x-amz-checksum-algorithm': checksumName(checksum.algorithm), 'x-amz-checksum-type': checksum.type } : {};
}

/** A copied part's bytes, its checksum of the upload's algorithm put `into` once they have passed (S3 computes it for UploadPartCopy). */
export function checksummedCopy(body: BodySource, checksum: UploadChecksum | null, into: Metadata): BodySource {
  if (!checksum) return body;
  return (async function* summed(): AsyncGenerator<Uint8Array> {
    const summer = checksummer(checksum.algorithm);
    for await (const chunk of body) {
      summer.update(chunk);
      yield chunk;
    }
    into[checksumHeader(checksum.algorithm)] = await summer.digest();
  })();
}

/** `ChecksumCRC32` and the like: the element naming an algorithm's checksum in S3's bodies. */
function elementOf(algorithm: ChecksumAlgorithm): string {
  return `Checksum${checksumName(algorithm)}`;
}

/** A part's (or an object's) checksums as body elements. */
export function checksumElements(checksums: Metadata | undefined): XmlNode {
  const elements: XmlNode = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = checksums?.[checksumHeader(algorithm)];
    if (value !== undefined) elements[elementOf(algorithm)] = value;
  }
  return elements;
}

/** ListParts' `ChecksumAlgorithm` and `ChecksumType`. */
export function uploadChecksumElements(headers: Metadata): XmlNode {
  const checksum = uploadChecksumIn(headers);
  return checksum ? { ChecksumAlgorithm: checksumName(checksum.algorithm), ChecksumType: checksum.type } : {};
}

/** The checksums a CompleteMultipartUpload's Part element lists (as `x-amz-checksum-<algorithm>`). */
export function listedChecksums(part: Record<string, unknown>): Metadata {
  const listed: Metadata = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = part[elementOf(algorithm)];
    if (typeof value === 'string') listed[checksumHeader(algorithm)] = value.trim();
  }
  return listed;
}

/**
 * The completed version's headers: the upload's, its checksum choice replaced by the object's checksum and type.
 * Refuses (in the completing transaction) parts without the upload's checksum, listed checksums that differ from
 * the parts', a COMPOSITE completion that leaves a part's checksum out, and a full-object checksum in the
 * request's headers that is not the object's.
 */
export function completionHeaders(req: IncomingMessage, listed: ReadonlyMap<number, Metadata>): VersionHeaders {
  return (uploadHeaders, parts) => {
    const headers: Metadata = { ...uploadHeaders };
    Reflect.deleteProperty(headers, ALGORITHM_KEY);
    Reflect.deleteProperty(headers, TYPE_KEY);
    const checksum = uploadChecksumIn(uploadHeaders);
    for (const part of parts) checkListed(part, listed.get(part.partNumber) ?? {}, checksum);
    if (!checksum) return headers;
    const name = checksumHeader(checksum.algorithm);
    const value = checksum.type === 'COMPOSITE' ? compositeChecksum(checksum.algorithm, parts) : fullObjectChecksum(checksum.algorithm as CombinableCrc, parts);
    const given = headerValue(req, name);
    if (given !== undefined && given.trim() !== value) throw new S3Error('BadDigest', 400, `The ${checksumName(checksum.algorithm)} you specified did not match the calculated checksum.`);
    return { ...headers, [name]: value, [TYPE_KEY]: checksum.type };
  };
}

function checkListed(part: ChosenPart, given: Metadata, checksum: UploadChecksum | null): void {
  for (const name in given) {
    if (part.checksums?.[name] !== given[name]) {
      throw new S3Error('InvalidPart', 400, `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified checksum may not match the part's checksum (part ${String(part.partNumber)}).`);
    }
  }
  if (!checksum) return;
  const name = checksumHeader(checksum.algorithm);
  if (part.checksums?.[name] === undefined) {
    throw new S3Error('InvalidRequest', 400, `The upload was created using a ${checksum.algorithm} checksum, and part ${String(part.partNumber)} was uploaded without one.`);
  }
  if (checksum.type === 'COMPOSITE' && given[name] === undefined) {
    throw new S3Error('InvalidRequest', 400, `The upload was created using a ${checksum.algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${String(part.partNumber)} in the request.`);
  }
}

/** The checksum of the parts' binary checksums, then `-<parts>`. */
function compositeChecksum(algorithm: ChecksumAlgorithm, parts: readonly ChosenPart[]): string {
  const name = checksumHeader(algorithm);
  const joined = Buffer.concat(parts.map((part) => Buffer.from(part.checksums?.[name] ?? '', 'base64')));
  return `${digestOf(algorithm, joined)}-${String(parts.length)}`;
}

function digestOf(algorithm: ChecksumAlgorithm, bytes: Buffer): string {
  switch (algorithm) {
    case 'crc32':
      return crcToBase64(BigInt(crc32(bytes)), 32);
    case 'crc32c':
      return crcToBase64(BigInt(new Crc32c().update(bytes).digest()), 32);
    case 'sha1':
    case 'sha256':
      return createHash(algorithm).update(bytes).digest('base64');
    case 'crc64nvme':
      throw new S3Error('InvalidRequest', 400, 'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.');
  }
}

/** The whole object's CRC, combined from the parts' CRCs and sizes. */
function fullObjectChecksum(algorithm: CombinableCrc, parts: readonly ChosenPart[]): string {
  const width = crcWidth(algorithm);
  const combiner = crcCombiner(algorithm);
  const name = checksumHeader(algorithm);
  let combined: bigint | null = null;
  for (const part of parts) {
    const crc = crcFromBase64(part.checksums?.[name] ?? '', width);
    if (crc === null) throw new S3Error('InvalidPart', 400, `Part ${String(part.partNumber)} has no valid ${checksumName(algorithm)} checksum`);
    combined = combined === null ? crc : combiner.combine(combined, crc, part.size);
  }
  return crcToBase64(combined ?? 0n, width);
}
