/**
 * Swift's large objects onto core's manifests (core/large-objects.ts holds their rules): static ones (SLO:
 * `?multipart-manifest=put|get|delete`, `?heartbeat=on`) and dynamic ones (DLO: `X-Object-Manifest`).
 */
import { createHash } from 'node:crypto';
import { MAX_MANIFEST_BYTES } from '../../core/constraints.ts';
import { asOnggiError, fail, isOnggiError, OnggiError } from '../../core/errors.ts';
import { MAX_DYNAMIC_SEGMENTS, MAX_MANIFEST_SEGMENTS, type SegmentInput } from '../../core/large-objects.ts';
import type { SegmentRow } from '../../core/model.ts';
import type { ObjectRef, WriteAttributes } from '../../core/objects.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { BodyTooLargeError, readSmallBody } from '../../http/body.ts';
import { headerValue } from '../../http/context.ts';
import { BULK_CONTENT_TYPES, bulkBody, bulkFormat, type BulkError } from './bulk-format.ts';
import { sendSwiftStatus, swiftStatusLine, swiftStatusOf } from './errors.ts';
import { sendBody, sendEmpty, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { objectHeaders } from './headers.ts';
import { registerInfo } from './info.ts';
import { swiftQuote } from './read-headers.ts';
import { decode } from './router.ts';

/** Seconds between the spaces a `?heartbeat=on` manifest PUT sends while its segments are checked. */
const HEARTBEAT_SECONDS = 10;
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SEGMENT_KEYS: ReadonlySet<string> = new Set(['path', 'etag', 'size_bytes', 'range']);

registerInfo('slo', () => ({
  max_manifest_segments: MAX_MANIFEST_SEGMENTS,
  max_manifest_size: MAX_MANIFEST_BYTES,
  min_segment_size: 1,
  yield_frequency: HEARTBEAT_SECONDS,
}));
registerInfo('dlo', () => ({ max_segments: MAX_DYNAMIC_SEGMENTS }));

/** A PUT that writes a manifest (`?multipart-manifest=put` or `X-Object-Manifest`); false: not one. */
export async function putManifest(x: Exchange, ref: ObjectRef, attributes: WriteAttributes): Promise<boolean> {
  if (x.ctx.query.get('multipart-manifest') === 'put') {
    await putStatic(x, ref, attributes);
    return true;
  }
  const dynamic = headerValue(x.req, 'x-object-manifest');
  if (dynamic === undefined) return false;
  const target = dynamicTarget(dynamic);
  await drain(x);
  const record = await x.ctx.core.objects.large.putDynamic(x.caller, ref, target, attributes);
  sendEmpty(x.res, 201, writtenHeaders(record, EMPTY_MD5));
  return true;
}

/** A POST with `X-Object-Manifest` makes the object that manifest (Swift lets POST set it); false: no such header. */
export async function postManifest(x: Exchange, ref: ObjectRef, attributes: Partial<WriteAttributes>): Promise<boolean> {
  const dynamic = headerValue(x.req, 'x-object-manifest');
  if (dynamic === undefined) return false;
  const target = dynamicTarget(dynamic);
  const current = await x.ctx.core.objects.head(x.caller, ref, {}, undefined, true);
  await x.ctx.core.objects.large.putDynamic(x.caller, ref, target, {
    contentType: attributes.contentType ?? current.contentType,
    meta: attributes.meta ?? {},
    headers: attributes.headers ?? {},
    deleteAt: attributes.deleteAt ?? null,
  });
  sendBody(x.res, 202, { 'Content-Type': 'text/html; charset=UTF-8' }, '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>');
  return true;
}

/** GET/HEAD `?multipart-manifest=get`: a manifest as stored, not read through; false: not a manifest, read it as usual. */
export async function getManifest(x: Exchange, ref: ObjectRef): Promise<boolean> {
  if (x.ctx.query.get('multipart-manifest') !== 'get') return false;
  const { objects } = x.ctx.core;
  const manifest = await objects.staticManifest(x.caller, ref);
  if (!manifest) {
    const record = await objects.head(x.caller, ref, {}, undefined, true);
    // A multipart upload's object shows as an SLO whose parts are no objects of the account: no segment to list,
    // so a client deleting "its segments" (rclone, swift upload over it) deletes nothing else.
    if (record.parts !== undefined) return sendManifest(x, record, '[]');
    if (record.indirect?.kind !== 'dynamic-manifest') return false;
    sendEmpty(x.res, 200, objectHeaders({ ...record, etag: EMPTY_MD5 }, x.caller.kind === 'anonymous'));
    return true;
  }
  return sendManifest(x, manifest.record, manifestText(manifest.segments, x.ctx.query.get('format') === 'raw'));
}

function sendManifest(x: Exchange, record: ObjectRecord, body: string): true {
  const headers = objectHeaders(record, x.caller.kind === 'anonymous');
  headers['Content-Type'] = 'application/json; charset=utf-8';
  headers.ETag = md5Of(body);
  sendBody(x.res, 200, headers, body);
  return true;
}

/** Swift's `X-Manifest-Etag` on a static large object's read: the MD5 of its manifest as `?multipart-manifest=get` gives it. */
export async function manifestEtagHeader(x: Exchange, ref: ObjectRef, record: ObjectRecord): Promise<Record<string, string>> {
  if (record.indirect?.kind !== 'static-manifest') return {};
  const manifest = await x.ctx.core.objects.staticManifest(x.caller, record.linkedTo ?? ref);
  return manifest ? { 'X-Manifest-Etag': md5Of(manifestText(manifest.segments, false)) } : {};
}

/**
 * DELETE `?multipart-manifest=delete`: the manifest and its segments (nested manifests' too), answered as Swift's
 * bulk delete answers; false: no such query.
 */
export async function deleteManifest(x: Exchange, ref: ObjectRef): Promise<boolean> {
  if (x.ctx.query.get('multipart-manifest') !== 'delete') return false;
  const tally = { deleted: 0, notFound: 0, errors: [] as BulkError[] };
  await deleteStatic(x, ref, tally, true);
  const status = tally.errors.length > 0 ? 400 : tally.deleted === 0 && tally.notFound > 0 ? 404 : 200;
  const format = bulkFormat(x.req);
  const fields = { 'Number Deleted': tally.deleted, 'Number Not Found': tally.notFound, 'Response Body': '', 'Response Status': swiftStatusLine(status) };
  sendBody(x.res, 200, { 'Content-Type': BULK_CONTENT_TYPES[format] }, bulkBody(format, fields, tally.errors, 'delete'));
  return true;
}

// --- static manifests -------------------------------------------------------------------------

async function putStatic(x: Exchange, ref: ObjectRef, attributes: WriteAttributes): Promise<void> {
  let text: Buffer;
  try {
    text = await readSmallBody(x.req, MAX_MANIFEST_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendSwiftStatus(x.res, 413, false, `Manifest File > ${MAX_MANIFEST_BYTES} bytes`);
    return;
  }
  const segments = parseManifest(text);
  if (segments.length > MAX_MANIFEST_SEGMENTS) {
    sendSwiftStatus(x.res, 413, false, `Number of segments must be <= ${MAX_MANIFEST_SEGMENTS}`);
    return;
  }
  if (/^(on|true|1|yes)$/i.test(x.ctx.query.get('heartbeat') ?? '')) return putWithHeartbeat(x, ref, segments, attributes);
  const format = bulkFormat(x.req);
  try {
    const record = await x.ctx.core.objects.large.putStatic(x.caller, ref, segments, attributes);
    sendEmpty(x.res, 201, writtenHeaders(record, `"${record.etag}"`));
  } catch (err) {
    const problems = manifestProblems(err);
    if (!problems) throw err;
    sendBody(x.res, 400, { 'Content-Type': BULK_CONTENT_TYPES[format] }, bulkBody(format, {}, problems, 'upload'));
  }
}

/** Swift's `?heartbeat=on`: 202 at once, a space every few seconds while segments are checked, then the outcome. */
async function putWithHeartbeat(x: Exchange, ref: ObjectRef, segments: SegmentInput[], attributes: WriteAttributes): Promise<void> {
  const format = bulkFormat(x.req);
  x.res.writeHead(202, { 'Content-Type': BULK_CONTENT_TYPES[format] });
  x.res.write(' ');
  const beat = setInterval(() => x.res.write(' '), HEARTBEAT_SECONDS * 1000);
  let fields: Record<string, string | number>;
  let errors: BulkError[] = [];
  try {
    const record = await x.ctx.core.objects.large.putStatic(x.caller, ref, segments, attributes);
    fields = { 'Response Status': swiftStatusLine(201), 'Response Body': '', Etag: `"${record.etag}"`, 'Last Modified': lastModifiedHeader(record) };
  } catch (err) {
    const problems = manifestProblems(err);
    const failure = asOnggiError(err);
    if (!problems && !failure) throw err;
    errors = problems ?? [];
    const status = problems ? 400 : swiftStatusOf(failure?.code ?? 'InvalidArgument');
    fields = { 'Response Status': swiftStatusLine(status), 'Response Body': problems ? '' : (failure?.message ?? '') };
  } finally {
    clearInterval(beat);
  }
  x.res.end(bulkBody(format, fields, errors, 'upload'));
}

/** The segments of a manifest PUT's body, checked for form as Swift does (`Index N: …` for each problem: 400). */
function parseManifest(text: Buffer): SegmentInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    fail('InvalidArgument', 'Manifest must be valid JSON.\n');
  }
  if (!Array.isArray(parsed)) fail('InvalidArgument', 'Manifest must be a list.\n');
  const errors: string[] = [];
  const segments: SegmentInput[] = [];
  parsed.forEach((item: unknown, index) => {
    const segment = parseSegment(item, (problem) => errors.push(`Index ${index}: ${problem}`));
    if (segment) segments.push(segment);
  });
  if (errors.length > 0) fail('InvalidArgument', `${errors.join('\n')}\n`);
  if (segments.length === 0) fail('InvalidArgument', 'Manifest must have at least one segment.\n');
  return segments;
}

function parseSegment(item: unknown, problem: (text: string) => void): SegmentInput | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return problem('not a JSON object'), null;
  const fields = item as Record<string, unknown>;
  if ('data' in fields) return problem('data segments are not supported by this server'), null;
  const extraneous = Object.keys(fields).filter((key) => !SEGMENT_KEYS.has(key));
  if (extraneous.length > 0) return problem(`extraneous keys ${extraneous.sort().map((key) => `"${key}"`).join(', ')}`), null;
  const { path, etag, size_bytes: size, range } = fields;
  if (typeof path !== 'string') return problem('"path" must be a string'), null;
  const slash = path.indexOf('/', 1);
  const bucket = path.slice(path.startsWith('/') ? 1 : 0, slash);
  const key = path.slice(slash + 1);
  if (slash < 0 || bucket === '' || key === '') return problem('path does not refer to an object. Path must be of the form /container/object.'), null;
  if (etag !== undefined && etag !== null && typeof etag !== 'string') return problem('"etag" must be a string or null (absent)'), null;
  const bytes = size === undefined || size === null ? null : typeof size === 'string' && /^\d+$/.test(size) ? Number(size) : size;
  if (bytes !== null && (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0)) return problem('"size_bytes" must be an integer or null (absent)'), null;
  if (range !== undefined && range !== null && (typeof range !== 'string' || !/^\s*(\d+-\d*|-\d+)\s*$/.test(range))) return problem('invalid range'), null;
  return { bucket, key, etag: etag ?? null, size: bytes, range: typeof range === 'string' ? range.trim() : null };
}

/** A failed manifest PUT's problems as Swift lists them (`[quoted path, reason]`); null: not a manifest problem. */
function manifestProblems(err: unknown): BulkError[] | null {
  if (!isOnggiError(err) || err.code !== 'InvalidManifest') return null;
  const problems = err.detail.problems;
  if (!problems) return [['', err.message]];
  return problems.map((problem) => {
    const reason = problem.code === 'InvalidManifest' ? problem.message : problem.code === 'InvalidRange' ? 'Unsatisfiable Range' : swiftStatusLine(swiftStatusOf(problem.code));
    return [swiftQuote(problem.path), reason.startsWith('Invalid range') ? 'Unsatisfiable Range' : reason];
  });
}

function manifestText(segments: readonly SegmentRow[], raw: boolean): string {
  return JSON.stringify(segments.map(raw ? rawEntry : listedEntry));
}

function md5Of(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** Swift's `?multipart-manifest=get` entry of a segment. */
function listedEntry(segment: SegmentRow): Record<string, string | number | boolean> {
  const entry: Record<string, string | number | boolean> = { hash: segment.etag, bytes: segment.objectSize, name: `/${segment.bucket}/${segment.key}` };
  if (segment.range) entry.range = `${segment.range[0]}-${segment.range[1]}`;
  if (segment.nested) entry.sub_slo = true;
  return entry;
}

/** The same, as a manifest PUT takes it (`&format=raw`). */
function rawEntry(segment: SegmentRow): Record<string, string | number> {
  const entry: Record<string, string | number> = { path: `/${segment.bucket}/${segment.key}`, etag: segment.etag, size_bytes: segment.objectSize };
  if (segment.range) entry.range = `${segment.range[0]}-${segment.range[1]}`;
  return entry;
}

interface DeleteTally {
  deleted: number;
  notFound: number;
  errors: BulkError[];
}

/** Deletes a static manifest's segments (a nested manifest's with it), then the manifest itself. */
async function deleteStatic(x: Exchange, ref: ObjectRef, tally: DeleteTally, top: boolean): Promise<void> {
  const name = swiftQuote(`/${ref.bucket}/${ref.key}`);
  let manifest: Awaited<ReturnType<typeof x.ctx.core.objects.staticManifest>>;
  try {
    manifest = await x.ctx.core.objects.staticManifest(x.caller, ref);
  } catch (err) {
    countFailure(err, name, tally);
    return;
  }
  if (!manifest) {
    // A multipart upload's object shows as an SLO (read-headers.ts); its parts go with it.
    if (!top || (await isMultipart(x, ref))) await deleteOne(x, ref, tally);
    else tally.errors.push([name, 'Not an SLO manifest']);
    return;
  }
  for (const segment of manifest.segments) {
    const segmentRef = { account: ref.account, bucket: segment.bucket, key: segment.key };
    if (segment.nested) await deleteStatic(x, segmentRef, tally, false);
    else await deleteOne(x, segmentRef, tally);
  }
  await deleteOne(x, ref, tally);
}

async function isMultipart(x: Exchange, ref: ObjectRef): Promise<boolean> {
  const record = await x.ctx.core.objects.head(x.caller, ref, {}, undefined, true).catch(() => null);
  return record?.parts !== undefined;
}

async function deleteOne(x: Exchange, ref: ObjectRef, tally: DeleteTally): Promise<void> {
  try {
    await x.ctx.core.objects.delete(x.caller, ref);
    tally.deleted++;
  } catch (err) {
    countFailure(err, swiftQuote(`/${ref.bucket}/${ref.key}`), tally);
  }
}

function countFailure(err: unknown, name: string, tally: DeleteTally): void {
  const failure = asOnggiError(err);
  if (!failure || failure.code === 'Busy' || failure.code === 'StorageUnavailable') throw err;
  if (failure.code === 'NoSuchKey') tally.notFound++;
  else tally.errors.push([name, swiftStatusLine(swiftStatusOf(failure.code))]);
}

// --- dynamic manifests ------------------------------------------------------------------------

/** `X-Object-Manifest: <container>/<prefix>`, each part URL-quoted as clients send it. */
function dynamicTarget(value: string): { bucket: string; prefix: string } {
  const text = value.trim().replace(/^\//, '');
  const slash = text.indexOf('/');
  const bucket = slash > 0 ? decode(text.slice(0, slash)) : undefined;
  const prefix = slash > 0 ? decode(text.slice(slash + 1)) : undefined;
  if (!bucket || prefix === undefined) throw new OnggiError('InvalidArgument', 'X-Object-Manifest must be in the format container/prefix');
  return { bucket, prefix };
}

/** A dynamic manifest's own body is not kept (its readers get the segments): read and let go. */
async function drain(x: Exchange): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for await (const _ of x.req as AsyncIterable<Buffer>);
}

function writtenHeaders(record: ObjectRecord, etag: string): Record<string, string | number> {
  const headers: Record<string, string | number> = { ETag: etag, 'Last-Modified': lastModifiedHeader(record), 'Content-Type': 'text/html; charset=UTF-8' };
  if (record.versionId !== 'null') headers['X-Object-Version-Id'] = record.versionId;
  return headers;
}
