/**
 * aws-chunked bodies (`Content-Encoding: aws-chunked`): `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` …, a
 * last chunk of size 0, then trailers (`x-amz-checksum-crc32:…`) and, when signed, `x-amz-trailer-signature`.
 * Decoded as the body streams (the data goes on as slices of what arrived), each chunk's signature checked
 * against the one before it, from the request's own (the seed).
 */
import { createHash, type Hash } from 'node:crypto';
import { S3Error } from './errors.ts';
import { ALGORITHM, EMPTY_SHA256, hmac, safeEqualHex, sha256Hex, type ChunkSigning } from './sigv4.ts';

const MAX_LINE = 4096;

/** Decodes `source`; the trailers go into `trailers` (lower-case names) once the body is read. */
export async function* decodeAwsChunked(source: AsyncIterable<Uint8Array>, signing: ChunkSigning | null, trailers: Map<string, string>): AsyncGenerator<Uint8Array> {
  let line: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let state: 'head' | 'data' | 'crlf' | 'trailer' | 'done' = 'head';
  let chunkSignature = '';
  let previous = signing?.seedSignature ?? '';
  let hash: Hash | null = null;
  const trailerLines: string[] = [];

  const finishChunk = (): void => {
    if (!signing) return;
    const digest = hash ? hash.digest('hex') : EMPTY_SHA256;
    const expected = hmac(signing.key, `${ALGORITHM}-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previous}\n${EMPTY_SHA256}\n${digest}`).toString('hex');
    if (!safeEqualHex(expected, chunkSignature)) throw new S3Error('SignatureDoesNotMatch', 403, 'The chunk signature we calculated does not match the signature you provided.');
    previous = expected;
    hash = null;
  };

  for await (const arrived of source) {
    let chunk = Buffer.isBuffer(arrived) ? arrived : Buffer.from(arrived.buffer, arrived.byteOffset, arrived.byteLength);
    while (chunk.length > 0) {
      if (state === 'data') {
        const take = Math.min(remaining, chunk.length);
        const piece = chunk.subarray(0, take);
        hash?.update(piece);
        remaining -= take;
        chunk = chunk.subarray(take);
        if (remaining === 0) state = 'crlf';
        yield piece;
        continue;
      }
      if (state === 'done') throw malformed('Data after the end of an aws-chunked body');
      const end = chunk.indexOf(0x0a);
      const upTo = end < 0 ? chunk.length : end + 1;
      line = line.length === 0 ? chunk.subarray(0, upTo) : Buffer.concat([line, chunk.subarray(0, upTo)]);
      chunk = chunk.subarray(upTo);
      if (line.length > MAX_LINE) throw malformed('An aws-chunked header line is too long');
      if (end < 0) continue;
      const text = line.toString('latin1').replace(/\r?\n$/, '');
      line = Buffer.alloc(0);
      if (state === 'crlf') {
        if (text !== '') throw malformed('An aws-chunked chunk is longer than its size');
        finishChunk();
        state = 'head';
      } else if (state === 'head') {
        const [sizeText = '', ...extensions] = text.split(';');
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText.trim())) throw malformed(`Not an aws-chunked chunk size: ${sizeText.slice(0, 32)}`);
        remaining = parseInt(sizeText, 16);
        chunkSignature = extensions.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
        if (signing && chunkSignature === '') throw new S3Error('SignatureDoesNotMatch', 403, 'A chunk of a signed aws-chunked body has no signature');
        if (signing) hash = remaining > 0 ? createHash('sha256') : null;
        if (remaining > 0) {
          state = 'data';
        } else {
          finishChunk();
          state = 'trailer';
        }
      } else if (text === '') {
        finishTrailers(trailerLines, trailers, signing, previous);
        state = 'done';
      } else {
        trailerLines.push(text);
      }
    }
  }
  // Some clients end the body right after the trailers, without the closing blank line.
  if (state === 'trailer' && line.length === 0) {
    finishTrailers(trailerLines, trailers, signing, previous);
    state = 'done';
  }
  if (state !== 'done') throw new S3Error('IncompleteBody', 400, 'The aws-chunked body ended before its last chunk');
}

function finishTrailers(lines: readonly string[], trailers: Map<string, string>, signing: ChunkSigning | null, previous: string): void {
  let signature: string | null = null;
  const signed: string[] = [];
  for (const text of lines) {
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformed('An aws-chunked trailer is not name:value');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') signature = value;
    else {
      trailers.set(name, value);
      signed.push(`${name}:${value}\n`);
    }
  }
  if (!signing || signed.length === 0) return;
  const expected = hmac(signing.key, `${ALGORITHM}-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previous}\n${sha256Hex(signed.join(''))}`).toString('hex');
  if (signature === null || !safeEqualHex(expected, signature)) throw new S3Error('SignatureDoesNotMatch', 403, 'The trailer signature we calculated does not match the signature you provided.');
}

function malformed(message: string): S3Error {
  return new S3Error('IncompleteBody', 400, message);
}

