/**
 * S3's browser uploads (PostObject): an HTML form (`multipart/form-data`) POSTed to a bucket. Its fields come
 * before the file; `policy` (base64 JSON: `expiration` and `conditions`) is signed with SigV4 (`x-amz-algorithm`,
 * `x-amz-credential`, `x-amz-date`, `x-amz-signature`: the hex HMAC of the policy with the day's signing key) or
 * SigV2 (`AWSAccessKeyId`, `signature`: base64 HMAC-SHA1 of the policy). Every field but the signature's own, the
 * file and `x-ignore-*` must be named by a condition (`eq`, `starts-with`, `{ "field": "value" }`), and
 * `content-length-range` bounds the file, counted as it streams into core (nothing stored past it). A form without
 * a policy writes as the anonymous caller (a bucket granting anyone WRITE). `${filename}` in `key` is the file's
 * name. Answers: `success_action_redirect` (303), else `success_action_status` 200, 201 (XML) or 204.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Metadata, ObjectRecord } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { checkObjectAcl } from './acl-ops.ts';
import { cannedAcl } from './acl.ts';
import { S3Error } from './errors.ts';
import type { CustomerKey } from '../../core/customer-keys.ts';
import { addEncryptionHeaders, customerKeyIn, managedEncryptionIn } from './sse-headers.ts';
import { checksumHeader, checksummer, CHECKSUM_ALGORITHMS } from './checksums.ts';
import { tagsOfDocument } from './tagging-ops.ts';
import { lockSettingsIn } from './version-settings.ts';
import { parseXml } from './xml.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { ALGORITHM, hmac, parseCredential, safeEqualHex, signingKey } from './sigv4.ts';
import { buildXml } from './xml.ts';

/** AWS caps a POST form's fields (not the file) at 20 KB; a policy is one of them. */
const MAX_FIELD_SIZE = 20 * 1024;
const MAX_FIELDS = 200;
/** Fields a policy need not name. */
const UNCHECKED_FIELDS = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file']);
const STORED_FIELDS = ['cache-control', 'content-disposition', 'content-encoding', 'expires'] as const;
const META_PREFIX = 'x-amz-meta-';
/** Fields of settings this server has nowhere to keep (there are no website endpoints): refused rather than dropped. */
const UNSUPPORTED_FIELDS = /^(x-amz-website-redirect-location|x-amz-server-side-encryption-aws-kms-key-id|x-amz-server-side-encryption-context|x-amz-server-side-encryption-bucket-key-enabled)$/;

interface Uploaded {
  key: string;
  record: ObjectRecord;
  /** The form's fields, names lower-cased. */
  fields: Record<string, string>;
  customerKey: CustomerKey | undefined;
}

/** The bounds `content-length-range` sets on the file. */
interface LengthRange {
  min: number;
  max: number;
}

export async function postObject(bucket: string, x: Exchange): Promise<void> {
  const type = headerValue(x.req, 'content-type') ?? '';
  if (!/^\s*multipart\/form-data\s*;/i.test(type)) {
    throw new S3Error('PreconditionFailed', 412, 'Bucket POST must be of the enclosure-type multipart/form-data', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
  }
  const uploaded = await readForm(bucket, x);
  answer(bucket, x, uploaded);
}

/** Reads the form and stores its (first) file. */
function readForm(bucket: string, x: Exchange): Promise<Uploaded> {
  return new Promise<Uploaded>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: x.req.headers, limits: { fieldSize: MAX_FIELD_SIZE, fields: MAX_FIELDS, files: 1 } });
    } catch {
      reject(malformed());
      return;
    }
    const fields: Record<string, string> = {};
    let stored: Promise<Uploaded> | null = null;
    parser.on('field', (name, value, info) => {
      if (stored !== null) return; // fields after the file are not part of the upload
      if (info.valueTruncated) {
        const refused = Promise.reject(new S3Error('MaxMessageLengthExceeded', 400, 'Your POST request fields preceding the upload file were too large.'));
        refused.catch(() => undefined);
        stored = refused;
        return;
      }
      fields[name.toLowerCase()] = value;
    });
    parser.on('file', (_name, stream, info) => {
      if (stored !== null) {
        stream.resume();
        return;
      }
      stored = storeFile(bucket, x, { ...fields }, stream, info.filename ?? '', info.mimeType);
      // Whatever happens, the rest of the file is read, so the parser reaches the end of the form.
      stored.finally(() => stream.resume()).catch(() => undefined);
    });
    parser.on('error', () => {
      x.req.unpipe(parser);
      x.req.resume();
      reject(malformed());
    });
    parser.on('close', () => {
      if (stored === null) reject(new S3Error('InvalidArgument', 400, 'POST requires exactly one file upload per request.', { ArgumentName: 'file', ArgumentValue: '0' }));
      else stored.then(resolve, reject);
    });
    x.req.pipe(parser);
  });
}

function malformed(): S3Error {
  return new S3Error('MalformedPOSTRequest', 400, 'The body of your POST request is not well-formed multipart/form-data.');
}

async function storeFile(bucket: string, x: Exchange, fields: Record<string, string>, stream: Readable, filename: string, mimeType: string): Promise<Uploaded> {
  const keyField = fields.key;
  if (keyField === undefined) {
    throw new S3Error('InvalidArgument', 400, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", { ArgumentName: 'key', ArgumentValue: '' });
  }
  const signed = await signedExchange(x, fields);
  const range = fields.policy === undefined ? null : checkPolicy(fields.policy, fields, bucket);
  const unsupported = Object.keys(fields).find((name) => UNSUPPORTED_FIELDS.test(name));
  if (unsupported !== undefined) throw new S3Error('NotImplemented', 501, `A field you provided implies functionality that is not implemented: ${unsupported}`);
  const key = keyField.replace(/\$\{filename\}/g, filename);
  if (key === '') throw new S3Error('InvalidArgument', 400, 'User key must have a length greater than 0.', { ArgumentName: 'key', ArgumentValue: '' });
  if (fields.acl !== undefined) await checkObjectAcl(signed, bucket, cannedAcl(fields.acl.trim()));
  const field = (name: string): string | undefined => fields[name];
  const customerKey = customerKeyIn(signed, field);
  const sse = fields['x-amz-server-side-encryption'];
  const encrypt = sse === undefined ? undefined : managedEncryptionIn(sse, customerKey);
  const lock = lockSettingsIn(field);
  const headers = storedHeadersOf(fields);
  const counted = { size: 0, tooLarge: false };
  try {
    const record = await signed.ctx.core.objects.put(signed.caller, {
      account: signed.account,
      bucket,
      key,
      contentType: fields['content-type'] ?? (mimeType === 'application/octet-stream' ? undefined : mimeType),
      meta: metadataOf(fields),
      headers,
      deleteAt: null,
      customerKey,
      encrypt,
      ...(fields.tagging === undefined ? {} : { tags: tagsOfDocument(parseXml(fields.tagging)) }),
      ...(lock ? { lock } : {}),
      body: checkedBody(boundedBody(stream, range, counted), fields, headers),
      contentLength: null,
    });
    return { key, record, fields, customerKey };
  } catch (err) {
    if (counted.tooLarge) throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(range?.max ?? 0) });
    if (range && counted.size < range.min && !(err instanceof S3Error)) {
      throw new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', { MinSizeAllowed: String(range.min) });
    }
    throw err;
  }
}

/** The file's bytes, failing (so nothing is stored) once past the range's maximum, or at the end when under its minimum. */
async function* boundedBody(stream: Readable, range: LengthRange | null, counted: { size: number; tooLarge: boolean }): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    counted.size += chunk.length;
    if (range && counted.size > range.max) {
      counted.tooLarge = true;
      throw new Error('content-length-range exceeded');
    }
    yield chunk;
  }
  if (range && counted.size < range.min) throw new Error('content-length-range not reached');
}

/**
 * The file's bytes checked against the form's `x-amz-checksum-<algorithm>` field, if it has one (one at most); a
 * mismatch fails the upload at its end (BadDigest, nothing stored), a match is kept with the object as a header's is.
 */
function checkedBody(source: AsyncIterable<Uint8Array>, fields: Record<string, string>, stored: Metadata): AsyncIterable<Uint8Array> {
  const given = CHECKSUM_ALGORITHMS.filter((algorithm) => fields[checksumHeader(algorithm)] !== undefined);
  const [algorithm] = given;
  if (given.length > 1) throw new S3Error('InvalidRequest', 400, 'Expecting a single x-amz-checksum- field. Multiple checksum Types are not allowed.');
  if (algorithm === undefined) return source;
  return (async function* () {
    const summer = checksummer(algorithm);
    for await (const chunk of source) {
      summer.update(chunk);
      yield chunk;
    }
    const actual = await summer.digest();
    if (actual !== fields[checksumHeader(algorithm)]) throw new S3Error('BadDigest', 400, `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    stored[checksumHeader(algorithm)] = actual;
  })();
}

/**
 * The exchange the upload runs as: the policy's signer (its project, where bucket names are per project), or the
 * anonymous caller of a form without a policy.
 */
async function signedExchange(x: Exchange, fields: Record<string, string>): Promise<Exchange> {
  const policy = fields.policy;
  if (policy === undefined) return x;
  const algorithm = fields['x-amz-algorithm'];
  let access: string;
  let verify: (secret: string) => boolean;
  if (algorithm !== undefined) {
    if (algorithm !== ALGORITHM) throw new S3Error('InvalidArgument', 400, `Unsupported x-amz-algorithm: ${algorithm}`, { ArgumentName: 'x-amz-algorithm', ArgumentValue: algorithm });
    const credential = parseCredential(fields['x-amz-credential'] ?? '', (message) => new S3Error('InvalidArgument', 400, message, { ArgumentName: 'x-amz-credential' }));
    const signature = requiredField(fields, 'x-amz-signature');
    access = credential.access;
    verify = (secret) => safeEqualHex(hmac(signingKey(secret, credential), policy).toString('hex'), signature.toLowerCase());
  } else {
    access = requiredField(fields, 'awsaccesskeyid');
    const signature = Buffer.from(requiredField(fields, 'signature'));
    verify = (secret) => {
      const expected = Buffer.from(createHmac('sha1', secret).update(policy, 'utf8').digest('base64'));
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    };
  }
  const signer = await x.ctx.core.s3Credentials.signer(access);
  if (!signer) throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  if (!verify(signer.secret)) throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  const account = x.ctx.core.buckets.naming.serverWideNames ? x.account : signer.caller.projectId;
  return { ...x, caller: signer.caller, account };
}

function requiredField(fields: Record<string, string>, name: string): string {
  const value = fields[name];
  if (value === undefined) {
    throw new S3Error('InvalidArgument', 400, `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, { ArgumentName: name, ArgumentValue: '' });
  }
  return value;
}

/** Checks the policy's expiration and conditions against the form; returns its content-length-range, if any. */
function checkPolicy(encoded: string, fields: Record<string, string>, bucket: string): LengthRange | null {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof document !== 'object' || document === null) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string') throw invalidPolicy('Policy missing expiration.');
  const expires = Date.parse(expiration);
  if (Number.isNaN(expires)) throw invalidPolicy("Invalid 'expiration' value: " + JSON.stringify(expiration));
  if (expires < Date.now()) throw denied('Policy expired.');
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.');
  const named = new Set<string>();
  let range: LengthRange | null = null;
  for (const condition of conditions) {
    const parsed = conditionOf(condition);
    if (parsed.kind === 'range') {
      range = parsed.range;
      continue;
    }
    named.add(parsed.field);
    const value = parsed.field === 'bucket' ? (fields.bucket ?? bucket) : fields[parsed.field];
    const holds = value !== undefined && (parsed.kind === 'eq' ? value === parsed.value : value.startsWith(parsed.value));
    if (!holds) throw denied(`Policy Condition failed: ${JSON.stringify(condition)}`);
  }
  for (const name in fields) {
    if (!UNCHECKED_FIELDS.has(name) && !name.startsWith('x-ignore-') && !named.has(name)) throw denied(`Extra input fields: ${name}`);
  }
  return range;
}

type Condition = { kind: 'eq' | 'starts-with'; field: string; value: string } | { kind: 'range'; range: LengthRange };

function conditionOf(condition: unknown): Condition {
  const invalid = (): S3Error => invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
  if (Array.isArray(condition)) {
    const [op, first, second] = condition as unknown[];
    if (condition.length !== 3 || typeof op !== 'string') throw invalid();
    const operator = op.toLowerCase();
    if (operator === 'content-length-range') {
      const min = Number(first);
      const max = Number(second);
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) throw invalid();
      return { kind: 'range', range: { min, max } };
    }
    if ((operator !== 'eq' && operator !== 'starts-with') || typeof first !== 'string' || !first.startsWith('$') || typeof second !== 'string') throw invalid();
    return { kind: operator, field: first.slice(1).toLowerCase(), value: second };
  }
  if (typeof condition === 'object' && condition !== null) {
    const entries = Object.entries(condition);
    const [entry] = entries;
    if (entries.length !== 1 || !entry || typeof entry[1] !== 'string') throw invalid();
    return { kind: 'eq', field: entry[0].toLowerCase(), value: entry[1] };
  }
  throw invalid();
}

function invalidPolicy(message: string): S3Error {
  return new S3Error('InvalidPolicyDocument', 400, `Invalid Policy: ${message}`);
}

function denied(message: string): S3Error {
  return new S3Error('AccessDenied', 403, `Invalid according to Policy: ${message}`);
}

function metadataOf(fields: Record<string, string>): Metadata {
  const meta: Metadata = {};
  for (const name in fields) if (name.startsWith(META_PREFIX)) meta[name.slice(META_PREFIX.length)] = fields[name] ?? '';
  return meta;
}

function storedHeadersOf(fields: Record<string, string>): Metadata {
  const headers: Metadata = {};
  for (const name of STORED_FIELDS) if (fields[name] !== undefined) headers[name] = fields[name];
  return headers;
}

/** `success_action_redirect` (303 with bucket, key and ETag in its query), else `success_action_status`. */
function answer(bucket: string, x: Exchange, uploaded: Uploaded): void {
  const { key, record, fields, customerKey } = uploaded;
  const etag = `"${record.etag}"`;
  const location = `${x.ctx.publicUrl}/${encodeURIComponent(bucket)}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
  const headers: Record<string, string | number> = { ETag: etag, Location: location };
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  if (record.encryption !== undefined) addEncryptionHeaders(headers, record.encryption, customerKey);
  for (const name in record.headers) if (name.startsWith('x-amz-checksum-')) headers[name] = record.headers[name] ?? '';
  const redirect = fields.success_action_redirect ?? fields.redirect;
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const target = new URL(redirect);
    target.searchParams.set('bucket', bucket);
    target.searchParams.set('key', key);
    target.searchParams.set('etag', etag);
    sendEmpty(x.res, 303, { ...headers, Location: target.toString() });
    return;
  }
  const status = fields.success_action_status;
  if (status === '201') {
    sendXml(x.res, 201, buildXml('PostResponse', { Location: location, Bucket: bucket, Key: key, ETag: etag }, false), headers);
    return;
  }
  sendEmpty(x.res, status === '200' ? 200 : 204, headers);
}
