/**
 * KakaoCloud's multipart verbs on the Swift API, onto core's uploads (the parts model S3's multipart uses, so an
 * upload begun here can be listed or completed over S3 and the other way round):
 *   POST   /v1/{a}/{c}/{o}?uploads                       initiate (the object's Swift PUT headers) → upload_id
 *   PUT    /v1/{a}/{c}/{o}?uploadId=U&partNumber=N       upload a part (a number uploaded again replaces it)
 *   GET    /v1/{a}/{c}/{o}?uploadId=U                    list the parts (limit/marker, or max-parts/part-number-marker)
 *   GET    /v1/{a}/{c}?uploads                           list uploads in progress (prefix, delimiter, marker, upload_id_marker, limit)
 *   DELETE /v1/{a}/{c}/{o}?uploadId=U                    abort
 *   POST   /v1/{a}/{c}/{o}?uploadId=U                    complete with the part list (JSON, or S3's XML)
 * Answers are JSON unless `?format=` or Accept asks for XML or plain text. docs/swift-multipart.md has the syntax.
 */
import type { IncomingMessage } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { checkListingLimit, LISTING_LIMIT, MAX_PART_SIZE, MAX_PARTS } from '../../core/constraints.ts';
import { unquote } from '../../core/conditions.ts';
import { fail } from '../../core/errors.ts';
import type { BucketRow } from '../../core/model.ts';
import { guessContentType } from '../../core/content-types.ts';
import { minPartSizeFromEnv, type CompletedPart, type UploadEntry, type UploadRef } from '../../core/uploads.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { NULL_VERSION_ID } from '../../core/versions.ts';
import { BodyTooLargeError, readSmallBody } from '../../http/body.ts';
import { headerValue } from '../../http/context.ts';
import { noContent, sendBody, sendEmpty, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { listingTime } from './headers.ts';
import { registerInfo } from './info.ts';
import { CONTENT_TYPES, escapeXml, type ListingFormat } from './listing-format.ts';
import { quotaRoom } from './quotas.ts';
import type { ContainerRoute, UploadRoute } from './router.ts';
import { archiveBeforeWrite } from './versioning.ts';
import { declaredLength, writeAttributes } from './write-request.ts';

/** A part list of MAX_PARTS entries in JSON is well under this. */
const MAX_PART_LIST_BYTES = 2 * 1024 * 1024;

registerInfo('multipart_upload', () => ({
  max_parts: MAX_PARTS,
  min_part_size: minPartSizeFromEnv(),
  max_part_size: MAX_PART_SIZE,
  max_parts_listing: LISTING_LIMIT,
  max_uploads_listing: LISTING_LIMIT,
}));

type Fields = Record<string, string | number | boolean>;

export async function serveUpload(route: UploadRoute | ContainerRoute<'ListUploads'>, x: Exchange): Promise<void> {
  switch (route.op) {
    case 'ListUploads':
      return listUploads(route, x);
    case 'InitiateUpload':
      return initiate(route, x);
    case 'UploadPart':
      return uploadPart(route, x);
    case 'ListParts':
      return listParts(route, x);
    case 'AbortUpload':
      await x.ctx.core.uploads.abort(x.caller, uploadRef(route, x));
      noContent(x.res);
      return;
    case 'CompleteUpload':
      return complete(route, x);
  }
}

async function initiate(route: UploadRoute, x: Exchange): Promise<void> {
  const attributes = writeAttributes(x.req);
  // As a Swift PUT: with no Content-Type given, the type the name's extension says.
  const contentType = attributes.contentType ?? guessContentType(route.object);
  const upload = await x.ctx.core.uploads.create(x.caller, refOf(route), { ...attributes, contentType });
  sendRecord(x, 200, 'upload', { upload_id: upload.id, container: route.container, object: route.object }, 'upload_id', { 'X-Upload-Id': upload.id });
}

async function uploadPart(route: UploadRoute, x: Exchange): Promise<void> {
  if (headerValue(x.req, 'x-copy-from') !== undefined) fail('InvalidArgument', 'A part is uploaded with its body; X-Copy-From is not supported for parts');
  const ref = uploadRef(route, x);
  const partNumber = partNumberOf(x);
  const contentLength = declaredLength(x.req);
  // No part can be larger than the room a quota leaves (the parts count against it once completed).
  const bucket = await x.ctx.core.buckets.forObjects(x.caller, ref.account, ref.bucket, 'PutObject', ref.key);
  const checkingRoom = quotaRoom(x.ctx.core, bucket, contentLength);
  if (checkingRoom) await checkingRoom;
  const etag = headerValue(x.req, 'etag');
  const part = await x.ctx.core.uploads.uploadPart(x.caller, ref, partNumber, {
    body: x.req,
    contentLength,
    expectedMd5: etag === undefined ? undefined : unquote(etag.trim()),
  });
  sendEmpty(x.res, 201, { ETag: part.etag, 'Content-Type': 'text/html; charset=UTF-8' });
}

async function listParts(route: UploadRoute, x: Exchange): Promise<void> {
  const ref = uploadRef(route, x);
  const q = x.ctx.query;
  const limit = limitOf(q.get('limit') ?? q.get('max-parts'));
  const marker = q.get('marker') ?? q.get('part-number-marker') ?? '0';
  if (!/^\d{1,5}$/.test(marker)) fail('InvalidArgument', 'The marker must be a part number');
  const { upload, parts, truncated } = await x.ctx.core.uploads.listParts(x.caller, ref, { partNumberMarker: Number(marker), limit });
  const headers = { 'X-Upload-Id': upload.id, 'X-Upload-Initiated': listingTime(upload.initiatedAt), 'X-Listing-Truncated': truncated ? 'True' : 'False' };
  const items = parts.map((part) => ({ part_number: part.partNumber, etag: part.etag, bytes: part.size, last_modified: listingTime(part.lastModified) }));
  sendListing(x, 'parts', items, (item) => String(item.part_number), headers);
}

async function listUploads(route: ContainerRoute<'ListUploads'>, x: Exchange): Promise<void> {
  const q = x.ctx.query;
  const delimiter = q.get('delimiter') ?? '';
  if (delimiter.length > 1) fail('ListingLimitExceeded', 'Bad delimiter');
  const { entries, truncated } = await x.ctx.core.uploads.listUploads(x.caller, route.account, route.container, {
    prefix: q.get('prefix') ?? '',
    delimiter,
    keyMarker: q.get('marker') ?? q.get('key-marker') ?? '',
    uploadIdMarker: q.get('upload_id_marker') ?? q.get('upload-id-marker') ?? '',
    limit: limitOf(q.get('limit') ?? q.get('max-uploads')),
  });
  const items = entries.map(uploadFields);
  sendListing(x, 'uploads', items, (item) => ('subdir' in item ? String(item.subdir) : `${String(item.name)}\t${String(item.upload_id)}`), { 'X-Listing-Truncated': truncated ? 'True' : 'False' });
}

function uploadFields(entry: UploadEntry): Fields {
  if (entry.kind === 'prefix') return { subdir: entry.prefix };
  const { item } = entry;
  return { name: item.key, upload_id: item.id, initiated: listingTime(item.initiatedAt), content_type: item.contentType ?? 'application/octet-stream' };
}

/**
 * Completion writes the object as a Swift PUT would: a legacy versions container gets the current version first,
 * and the container's and account's quotas must hold the completed object.
 */
async function complete(route: UploadRoute, x: Exchange): Promise<void> {
  const ref = uploadRef(route, x);
  const listed = await partListOf(x.req);
  const ifNoneMatch = headerValue(x.req, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') fail('InvalidArgument', 'If-None-Match only supports *');
  const bucket = await archiveBeforeWrite(x, ref);
  await checkQuotas(x, bucket, ref, listed);
  const record = await x.ctx.core.uploads.complete(x.caller, ref, listed, { ifNoneMatchAny: ifNoneMatch !== undefined });
  const headers: Record<string, string> = { ETag: record.etag, 'Last-Modified': lastModifiedHeader(record) };
  if (record.versionId !== NULL_VERSION_ID) headers['X-Object-Version-Id'] = record.versionId;
  sendRecord(x, 201, 'object', completedFields(route, record), 'etag', headers);
}

function completedFields(route: UploadRoute, record: ObjectRecord): Fields {
  return { container: route.container, object: route.object, etag: record.etag, bytes: record.size, content_type: record.contentType, last_modified: listingTime(record.lastModified) };
}

/** The quotas, when any applies: the listed parts' bytes must fit, and one more object. */
async function checkQuotas(x: Exchange, bucket: BucketRow, ref: UploadRef, listed: readonly CompletedPart[]): Promise<void> {
  const checkingRoom = quotaRoom(x.ctx.core, bucket, null);
  if (!checkingRoom || (await checkingRoom) === undefined) return;
  const { parts } = await x.ctx.core.uploads.listParts(x.caller, ref, { partNumberMarker: 0, limit: MAX_PARTS });
  const sizes = new Map(parts.map((part) => [part.partNumber, part.size]));
  const size = listed.reduce((sum, part) => sum + (sizes.get(part.partNumber) ?? 0), 0);
  await quotaRoom(x.ctx.core, bucket, size);
}

/**
 * The part list of a completion: a JSON array of `{"part_number": N, "etag": "…"}` (or an object with such a
 * `parts` array), or S3's `<CompleteMultipartUpload>` XML. Order and ETags are checked by core.
 */
async function partListOf(req: IncomingMessage): Promise<CompletedPart[]> {
  let text: string;
  try {
    text = (await readSmallBody(req, MAX_PART_LIST_BYTES)).toString('utf8').trim();
  } catch (err) {
    if (err instanceof BodyTooLargeError) fail('EntityTooLarge', `The part list may be at most ${MAX_PART_LIST_BYTES} bytes`);
    throw err;
  }
  const entries = text.startsWith('<') ? xmlParts(text) : jsonParts(text);
  if (entries.length === 0) fail('InvalidArgument', 'The part list is empty: it needs at least one part');
  return entries.map((entry, i) => {
    const number = entry.part_number ?? entry.PartNumber;
    const etag = entry.etag ?? entry.ETag;
    const partNumber = typeof number === 'string' && /^\d+$/.test(number.trim()) ? Number(number) : number;
    if (typeof partNumber !== 'number' || !Number.isInteger(partNumber) || typeof etag !== 'string' || etag === '') {
      fail('InvalidArgument', `Part list entry ${i + 1}: it needs an integer part_number and an etag`);
    }
    return { partNumber, etag };
  });
}

type PartEntry = Record<string, unknown>;

function jsonParts(text: string): PartEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail('InvalidArgument', 'The part list is not valid JSON: send [{"part_number": 1, "etag": "…"}, …]');
  }
  const list = isRecord(parsed) && !Array.isArray(parsed) ? parsed.parts : parsed;
  if (!Array.isArray(list) || !list.every(isRecord)) fail('InvalidArgument', 'The part list must be a JSON array of {"part_number": N, "etag": "…"} objects');
  return list;
}

const xmlParser = new XMLParser({ isArray: (name) => name === 'Part', parseTagValue: false, processEntities: true });

function xmlParts(text: string): PartEntry[] {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) fail('InvalidArgument', 'DOCTYPE and entity declarations are not accepted');
  let parsed: unknown;
  try {
    parsed = xmlParser.parse(text);
  } catch {
    fail('InvalidArgument', 'The part list is not well-formed XML');
  }
  const root = isRecord(parsed) ? parsed.CompleteMultipartUpload : undefined;
  const parts = isRecord(root) ? root.Part : undefined;
  if (!Array.isArray(parts) || !parts.every(isRecord)) fail('InvalidArgument', 'The XML part list must be a CompleteMultipartUpload with Part elements');
  return parts;
}

function isRecord(value: unknown): value is PartEntry {
  return typeof value === 'object' && value !== null;
}

// --- the request's names and numbers ---------------------------------------------------------

function refOf(route: UploadRoute): { account: string; bucket: string; key: string } {
  return { account: route.account, bucket: route.container, key: route.object };
}

function uploadRef(route: UploadRoute, x: Exchange): UploadRef {
  const uploadId = x.ctx.query.get('uploadId');
  if (!uploadId) fail('InvalidArgument', 'uploadId is empty');
  return { ...refOf(route), uploadId };
}

function partNumberOf(x: Exchange): number {
  const text = x.ctx.query.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PARTS) fail('InvalidArgument', `partNumber must be an integer from 1 to ${MAX_PARTS}`);
  return Number(text);
}

/** A listing's `limit` (Swift's name) or its S3 name: digits, at most the listing limit; absent: the listing limit. */
function limitOf(text: string | null): number {
  if (text === null) return LISTING_LIMIT;
  if (!/^\d+$/.test(text)) fail('InvalidArgument', 'limit must be a non-negative integer');
  const limit = Number(text);
  checkListingLimit(limit);
  return limit;
}

// --- answers --------------------------------------------------------------------------------

/** JSON unless `?format=xml|plain` or an Accept header for XML or plain text says otherwise. */
function answerFormat(x: Exchange): ListingFormat {
  const format = x.ctx.query.get('format')?.toLowerCase();
  if (format === 'json' || format === 'xml' || format === 'plain') return format;
  const accept = x.req.headers.accept ?? '';
  if (/application\/json/i.test(accept)) return 'json';
  if (/(application|text)\/xml/i.test(accept)) return 'xml';
  if (/text\/plain/i.test(accept)) return 'plain';
  return 'json';
}

/** One record: a JSON object, an XML element named `root`, or in plain text its `plainField`. */
function sendRecord(x: Exchange, status: number, root: string, fields: Fields, plainField: string, headers: Record<string, string>): void {
  const format = answerFormat(x);
  const body = {
    json: () => JSON.stringify(fields),
    xml: () => `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${xmlFields(fields)}</${root}>`,
    plain: () => `${String(fields[plainField])}\n`,
  }[format]();
  sendBody(x.res, status, { ...headers, 'Content-Type': CONTENT_TYPES[format] }, body);
}

/** A listing as Swift lists: a JSON array, `<root><item>…</item></root>`, or a line per item (204 when plain and empty). */
function sendListing(x: Exchange, root: 'parts' | 'uploads', items: Fields[], line: (item: Fields) => string, headers: Record<string, string>): void {
  const format = answerFormat(x);
  if (items.length === 0 && format === 'plain') {
    sendEmpty(x.res, 204, headers);
    return;
  }
  const element = root === 'parts' ? 'part' : 'upload';
  const body = {
    json: () => JSON.stringify(items),
    xml: () => `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${items.map((item) => ('subdir' in item ? `<subdir name="${escapeXml(String(item.subdir))}"/>` : `<${element}>${xmlFields(item)}</${element}>`)).join('')}</${root}>`,
    plain: () => items.map((item) => `${line(item)}\n`).join(''),
  }[format]();
  sendBody(x.res, 200, { ...headers, 'Content-Type': CONTENT_TYPES[format] }, body);
}

function xmlFields(fields: Fields): string {
  return Object.entries(fields)
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join('');
}
