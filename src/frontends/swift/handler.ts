/** /v1: the OpenStack Swift object API, translated to core calls. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BUCKET_TYPES, checkListingLimit, LISTING_LIMIT, MAX_HEADER_SIZE } from '../../core/constraints.ts';
import { guessContentType } from '../../core/content-types.ts';
import { unquote, type ByteRange, type ReadConditions } from '../../core/conditions.ts';
import { asOnggiError, fail, OnggiError } from '../../core/errors.ts';
import type { ListOptions } from '../../core/listing.ts';
import { writeBody, type Body, type ObjectRef, type WriteAttributes } from '../../core/objects.ts';
import type { Bucket, Caller, ObjectRecord } from '../../core/types.ts';
import { NULL_VERSION_ID } from '../../core/versions.ts';
import { noteStorageRefusal } from '../../http/storage-refusal.ts';
import { accessOf, authenticate, headerValue, type RequestContext } from '../../http/context.ts';
import { encodeInTurns } from '../../lib/turns.ts';
import { sendSwiftError, sendSwiftStatus } from './errors.ts';
import { bulkDelete } from './bulk.ts';
import { serveUpload } from './multipart.ts';
import { httpDate, lastModifiedHeader } from '../../http/http-date.ts';
import { noContent, sendBody, sendEmpty, type Exchange } from './exchange.ts';
import { deleteManifest, getManifest, manifestEtagHeader, postManifest, putManifest } from './large-objects.ts';
import { getSymlink, putSymlink, refuseSymlinkPost } from './symlinks.ts';
import { archiveBeforeWrite, configureVersioning, deleteObject, listObjectVersions, versioningHeaders, versioningRequest } from './versioning.ts';
import {
  ACCOUNT_META_PREFIX,
  CONTAINER_META_PREFIX,
  metadataFrom,
  metadataHeaders,
  OBJECT_META_PREFIXES,
  objectHeaders,
  storedHeadersFrom,
  swiftTimestamp,
} from './headers.ts';
import { isWebRead, serveWeb } from './staticweb.ts';
import { extractArchive } from './extract.ts';
import { checkContainerQuotas, quotaRoom, refuseAccountQuota } from './quotas.ts';
import { accessChangesFrom, accountAclHeader, accountGrantsFrom, aclHeaders, withAccountGrants } from './acl.ts';
import { isTempUrlRequest, mayChangeAccount, sendTempUrlInvalid, tempUrlHeaders, TempUrlHeaderRefused, withoutSigningKeys } from './tempurl.ts';
import { SWIFT_AUTHENTICATORS } from './auth.ts';
import { formPost, isFormPost } from './formpost.ts';
import { allows } from '../../core/authz.ts';
import { declaredLength, deleteAtFrom, explicitContentType, pythonInt, writeAttributes } from './write-request.ts';
import { CONTENT_TYPES, containerListingPieces, listingFormat, objectListingPieces } from './listing-format.ts';
import { logBucketAccess } from '../../http/bucket-access-log.ts';
import { applyBucketCors, concernsCors } from '../../http/cors.ts';
import { decode, decodeHeaderPath, routeParts, splitPath, type AccountRoute, type ContainerRoute, type CopyRoute, type ObjectRoute, type SwiftRoute } from './router.ts';

export async function swiftFrontEnd(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const target = splitPath(ctx.rawPath);
  if (target?.container) {
    const kind = target.object === null ? 'BUCKET' : 'OBJECT';
    logBucketAccess(req, res, ctx, { account: target.account, bucket: target.container, key: target.object }, `SWIFT.${req.method ?? 'GET'}.${kind}`);
  }
  if (target && concernsCors(req) && (await applyBucketCors(req, res, ctx.core, target.account, target.container))) return;
  const isHead = req.method === 'HEAD';
  const route = routeParts(req.method ?? 'GET', target, req.headers, ctx.query);
  ctx.op = route.op;
  if ('account' in route) ctx.account = route.account;
  try {
    if (route.op === 'BadPath') {
      // Swift's proxy: 412 with its text, typed text/html as all its canned answers.
      sendSwiftStatus(res, 412, isHead, route.message, { 'Content-Type': 'text/html; charset=UTF-8' });
      return;
    }
    if (route.op === 'MethodNotAllowed') {
      sendSwiftStatus(res, 405, isHead);
      return;
    }
    checkHeaderSizes(req);
    ctx.checkStorage(accessOf(req.method));
    if ((route.op === 'PostContainer' || route.op === 'PostObject') && isFormPost(req)) {
      await formPost(req, res, ctx, { account: route.account, container: route.container, prefix: 'object' in route ? route.object : '' });
      return;
    }
    const caller = await authenticate(SWIFT_AUTHENTICATORS, req, ctx);
    if (!caller && isTempUrlRequest(ctx)) {
      sendTempUrlInvalid(res, isHead, 'account' in route ? route.account : '');
      return;
    }
    if (!caller) fail('Unauthenticated', 'Invalid token');
    const granted = withAccountGrants(caller, req, route.account, ctx.core);
    await dispatch(route, { req, res, ctx, caller: granted instanceof Promise ? await granted : granted });
  } catch (caught) {
    if (caught instanceof TempUrlHeaderRefused) {
      sendSwiftStatus(res, 400, isHead, caught.message);
      return;
    }
    const err = asOnggiError(caught);
    if (!err) throw caught;
    noteStorageRefusal(ctx, err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const extra: Record<string, string | number> = err.code === 'NotModified' ? notModifiedHeaders(err.detail.record) : {};
    if (err.code === 'InvalidRange') extra['Content-Range'] = `bytes */${String(err.detail.size)}`;
    // As Swift: a 412 or 416 about an object names its ETag.
    const etag = err.code === 'InvalidRange' ? err.detail.etag : err.code === 'PreconditionFailed' ? err.detail.record?.etag : undefined;
    if (etag !== undefined) extra.ETag = etag;
    // swob adds the challenge to every 401, naming the account as its realm.
    if (err.code === 'Unauthenticated') extra['Www-Authenticate'] = `Swift realm="${encodeURIComponent(target?.account || 'unknown')}"`;
    // A delete marker read by its version id: Swift's answer is that the object is not there.
    if (err.code === 'MethodNotAllowed' && err.detail.deleteMarker) sendSwiftStatus(res, 404, isHead);
    else sendSwiftError(res, err, isHead, extra);
  }
}

async function dispatch(route: Exclude<SwiftRoute, { op: 'BadPath' | 'MethodNotAllowed' }>, x: Exchange): Promise<void> {
  switch (route.op) {
    case 'HeadAccount':
    case 'ListContainers':
      return listContainers(route, x);
    case 'ExtractArchive':
      return extractArchive(x, route.account, route.base);
    case 'PostAccount':
      if (x.ctx.query.has('bulk-delete')) return bulkDelete(x, route.account);
      return postAccount(route, x);
    case 'DeleteAccount':
      // Swift deletes no account over its API; only a bulk delete is a DELETE of one.
      if (x.ctx.query.has('bulk-delete')) return bulkDelete(x, route.account);
      sendSwiftStatus(x.res, 405, false);
      return;
    case 'PutContainer':
      return putContainer(route, x);
    case 'HeadContainer':
    case 'ListObjects':
      if (isWebRead(x) && x.ctx.query.toString() === '' && (await serveWeb(route, x))) return;
      return listObjects(route, x);
    case 'PostContainer':
      return postContainer(route, x);
    case 'DeleteContainer':
      await x.ctx.core.buckets.delete(x.caller, route.account, route.container);
      noContent(x.res);
      return;
    case 'PutObject':
      return putObject(route, x);
    case 'GetObject':
    case 'HeadObject':
      if (isWebRead(x) && x.ctx.query.toString() === '' && (await serveWeb(route, x))) return;
      return getObject(route, x);
    case 'PostObject':
      return postObject(route, x);
    case 'DeleteObject':
      if (x.ctx.query.has('multipart-manifest') && (await deleteManifest(x, refOf(route)))) return;
      if (!(await deleteAtStillMatches(route, x))) return;
      return deleteObject(x, versionedRef(route, x));
    case 'CopyObject':
      return copyObject(route, x);
    case 'ListUploads':
    case 'InitiateUpload':
    case 'UploadPart':
    case 'ListParts':
    case 'AbortUpload':
    case 'CompleteUpload':
      return serveUpload(route, x);
  }
}

// --- account --------------------------------------------------------------------------------

async function listContainers(route: AccountRoute, x: Exchange): Promise<void> {
  const { core } = x.ctx;
  const [project, totals] = await Promise.all([core.accounts.get(x.caller, route.account), core.buckets.totals(x.caller, route.account)]);
  const owner = mayChangeAccount(x.caller, route.account);
  const headers = {
    'X-Account-Container-Count': totals.buckets,
    'X-Account-Object-Count': totals.objects,
    'X-Account-Bytes-Used': totals.bytes,
    'X-Timestamp': swiftTimestamp(project.createdAt),
    ...metadataHeaders(owner ? project.meta : withoutSigningKeys(project.meta), ACCOUNT_META_PREFIX),
  };
  // As Swift: the account ACL only to those who may change it.
  if (owner) accountAclHeader(project, headers);
  if (route.op === 'HeadAccount') {
    sendEmpty(x.res, 204, headers);
    return;
  }
  const format = listingFormat(x.req, x.ctx.query);
  const entries = await core.buckets.list(x.caller, route.account, listOptions(x.ctx.query));
  if (entries.length === 0 && format === 'plain') {
    sendEmpty(x.res, 204, headers);
    return;
  }
  const body = await encodeInTurns(containerListingPieces(format, route.account, entries));
  sendBody(x.res, 200, { ...headers, 'Content-Type': CONTENT_TYPES[format] }, body);
}

async function postAccount(route: AccountRoute, x: Exchange): Promise<void> {
  refuseAccountQuota(x.req);
  const { set, remove } = metadataFrom(x.req, [ACCOUNT_META_PREFIX]);
  const grants = await accountGrantsFrom(x.req, x.ctx.core.directory);
  await x.ctx.core.accounts.updateMetadata(x.caller, route.account, set, remove, grants);
  noContent(x.res);
}

// --- containers -----------------------------------------------------------------------------

async function putContainer(route: ContainerRoute, x: Exchange): Promise<void> {
  checkContainerQuotas(x.req);
  const policy = headerValue(x.req, 'x-storage-policy');
  // Swift's names are case-insensitive; an unknown one is refused, never ignored.
  if (policy !== undefined && !BUCKET_TYPES.has(policy.toUpperCase())) fail('InvalidArgument', `Invalid X-Storage-Policy '${policy}'`);
  const { set, remove } = metadataFrom(x.req, [CONTAINER_META_PREFIX]);
  // An empty value and X-Remove-Container-Meta-* remove the item on a PUT too; the core reads '' as removal.
  for (const name of remove) set[name] = '';
  const versioning = versioningRequest(x);
  const access = await accessChangesFrom(x.req, x.ctx.core.directory);
  const { created } = await x.ctx.core.buckets.createOrUpdate(x.caller, route.account, route.container, set, access);
  await configureVersioning(x, route.account, route.container, versioning);
  sendEmpty(x.res, created ? 201 : 202, { 'Content-Type': 'text/html; charset=UTF-8' });
}

async function listObjects(route: ContainerRoute, x: Exchange): Promise<void> {
  const { core, query } = x.ctx;
  if (route.op === 'HeadContainer') {
    const bucket = await core.buckets.get(x.caller, route.account, route.container);
    sendEmpty(x.res, 204, containerHeaders(bucket, x.caller));
    return;
  }
  if (query.has('versions')) return listObjectVersions(x, route.account, route.container, (bucket) => containerHeaders(bucket, x.caller));
  const format = listingFormat(x.req, query);
  const { bucket, entries } = await core.objects.list(x.caller, route.account, route.container, listOptions(query));
  const headers = containerHeaders(bucket, x.caller);
  if (entries.length === 0 && format === 'plain') {
    sendEmpty(x.res, 204, headers);
    return;
  }
  // 10,000 entries take tens of milliseconds to render: other requests go on meanwhile.
  const body = await encodeInTurns(objectListingPieces(format, bucket.name, entries));
  sendBody(x.res, 200, { ...headers, 'Content-Type': CONTENT_TYPES[format] }, body);
}

async function postContainer(route: ContainerRoute, x: Exchange): Promise<void> {
  checkContainerQuotas(x.req);
  const { set, remove } = metadataFrom(x.req, [CONTAINER_META_PREFIX]);
  const versioning = versioningRequest(x);
  const access = await accessChangesFrom(x.req, x.ctx.core.directory);
  await x.ctx.core.buckets.updateMetadata(x.caller, route.account, route.container, set, remove, access);
  await configureVersioning(x, route.account, route.container, versioning);
  noContent(x.res);
}

function containerHeaders(bucket: Bucket, caller: Caller): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'X-Container-Object-Count': bucket.objectCount,
    'X-Container-Bytes-Used': bucket.bytes,
    'X-Timestamp': swiftTimestamp(bucket.createdAt),
    'X-Storage-Policy': bucket.type,
    // As Swift: the container's own PUT or POST moves it, an object written into it does not.
    'Last-Modified': httpDate(Math.ceil(bucket.changedAt / 1000)),
    ...versioningHeaders(bucket),
  };
  // As Swift: the ACLs and the temp URL keys only to those who may change them.
  metadataHeaders(allows(caller, 'PutBucketMetadata', bucket) ? bucket.meta : withoutSigningKeys(bucket.meta), CONTAINER_META_PREFIX, headers);
  if (allows(caller, 'PutBucketAcl', bucket)) aclHeaders(bucket, headers);
  return headers;
}

function listOptions(query: URLSearchParams): ListOptions {
  const limitText = query.get('limit');
  let limit = LISTING_LIMIT;
  // As Swift's container and account servers do: a limit that is not all digits is ignored.
  if (limitText !== null && /^\d+$/.test(limitText)) {
    limit = Number(limitText);
    checkListingLimit(limit);
  }
  // Any delimiter, of one character or more, as Swift takes it since 2.24.
  const delimiter = query.get('delimiter') ?? '';
  const path = query.get('path');
  const options: ListOptions = {
    prefix: query.get('prefix') ?? '',
    delimiter,
    marker: query.get('marker') ?? '',
    endMarker: query.get('end_marker') ?? '',
    limit,
    reverse: ['true', '1', 'yes', 'on', 't', 'y'].includes((query.get('reverse') ?? '').toLowerCase()),
  };
  if (path !== null) {
    // `path` lists only what sits directly under a pseudo-directory.
    options.prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
    options.delimiter = '/';
    options.onlyItems = true;
  }
  return options;
}

// --- objects --------------------------------------------------------------------------------

async function putObject(route: ObjectRoute, x: Exchange): Promise<void> {
  const { req } = x;
  const ifNoneMatch = headerValue(req, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') fail('InvalidArgument', 'If-None-Match only supports *');
  const ref = refOf(route);
  const attributes = writeAttributes(req);
  // As Swift's proxy: X-Detect-Content-Type: true guesses from the name whatever Content-Type came with it.
  if (TRUE_VALUES.has((headerValue(req, 'x-detect-content-type') ?? '').toLowerCase())) attributes.contentType = guessContentType(route.object);
  const contentLength = declaredLength(req);
  const bucket = await archiveBeforeWrite(x, ref);
  const checkingRoom = quotaRoom(x.ctx.core, bucket, contentLength);
  const room = checkingRoom && (await checkingRoom);
  const special = x.ctx.query.has('multipart-manifest') || req.headers['x-object-manifest'] !== undefined || req.headers['x-symlink-target'] !== undefined;
  if (special && ((await putManifest(x, ref, attributes)) || (await putSymlink(x, ref, attributes, contentLength)))) return;
  const etag = headerValue(req, 'etag');
  const record = await x.ctx.core.objects.putInto(bucket, {
    ...ref,
    ...attributes,
    body: req,
    contentLength,
    expectedMd5: etag === undefined ? undefined : unquote(etag.trim()),
    ifNoneMatchAny: ifNoneMatch !== undefined,
    quotaRoom: room,
  });
  const headers: Record<string, string> = { ETag: record.etag, 'Last-Modified': lastModifiedHeader(record), 'Content-Type': 'text/html; charset=UTF-8' };
  if (record.versionId !== NULL_VERSION_ID) headers['X-Object-Version-Id'] = record.versionId;
  sendEmpty(x.res, 201, headers);
}

async function getObject(route: ObjectRoute, x: Exchange): Promise<void> {
  const { core, query } = x.ctx;
  const conditions = readConditions(x.req);
  const ref = versionedRef(route, x);
  if ((query.has('multipart-manifest') || query.has('symlink')) && ((await getManifest(x, ref)) || (await getSymlink(x, ref)))) return;
  if (route.op === 'HeadObject') {
    const record = await core.objects.head(x.caller, ref, conditions);
    const headers = objectHeaders(record, readsAsOutsider(x.caller, route.account));
    tempUrlHeaders(x.caller, headers);
    headers['Content-Length'] = record.size;
    if (record.indirect) Object.assign(headers, await manifestEtagHeader(x, ref, record));
    x.res.writeHead(200, headers).end();
    return;
  }
  // Swift drops every space of a Range header before reading it: `bytes=1 - 5` is `bytes=1-5`.
  const { record, ranges, bodies } = await core.objects.get(x.caller, ref, conditions, headerValue(x.req, 'range')?.replace(/ /g, ''));
  let parts: Body[];
  try {
    const extra = record.indirect ? await manifestEtagHeader(x, ref, record) : undefined;
    parts = startBody(x.res, record, ranges, bodies, x.caller, readsAsOutsider(x.caller, route.account), extra);
  } catch (err) {
    closeBodies(bodies);
    throw err;
  }
  return streamBodies(x.res, parts);
}

/** Writes the head of a GET's answer; returns what goes in its body, in order (the ranges' bodies and the parts' heads). */
/** Anonymous readers and users of other projects (let in by the public flag or a grant) get what anyone may be given. */
function readsAsOutsider(caller: Caller, account: string): boolean {
  return caller.kind === 'anonymous' || caller.projectId !== account;
}

function startBody(res: ServerResponse, record: ObjectRecord, ranges: ByteRange[] | null, bodies: Body[], caller: Caller, outsider: boolean, extra?: Record<string, string>): Body[] {
  const headers = objectHeaders(record, outsider);
  if (caller.kind === 'anonymous') tempUrlHeaders(caller, headers);
  if (extra) Object.assign(headers, extra);
  if (ranges === null || ranges.length === 0) {
    headers['Content-Length'] = record.size;
    res.writeHead(200, headers);
    return bodies;
  }
  const [only] = ranges;
  if (ranges.length === 1 && only) {
    res.writeHead(206, { ...headers, 'Content-Length': only.end - only.start + 1, 'Content-Range': `bytes ${only.start}-${only.end}/${record.size}` });
    return bodies;
  }
  const boundary = randomBytes(16).toString('hex');
  const heads = ranges.map((r) => Buffer.from(`--${boundary}\r\nContent-Type: ${record.contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${record.size}\r\n\r\n`));
  const closing = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = ranges.reduce((sum, r, i) => sum + (heads[i]?.length ?? 0) + r.end - r.start + 1, 0) + ranges.length * 2 - 2 + closing.length;
  res.writeHead(206, { ...headers, 'Content-Type': `multipart/byteranges;boundary=${boundary}`, 'Content-Length': length });
  const interleaved: Body[] = [];
  bodies.forEach((body, i) => interleaved.push(...(i > 0 ? [Buffer.from('\r\n')] : []), heads[i] ?? Buffer.alloc(0), body));
  interleaved.push(closing);
  return interleaved;
}

async function postObject(route: ObjectRoute, x: Exchange): Promise<void> {
  refuseSymlinkPost(x);
  const { set } = metadataFrom(x.req, OBJECT_META_PREFIXES);
  const contentType = explicitContentType(x.req);
  const attributes: Partial<WriteAttributes> = { meta: set, headers: storedHeadersFrom(x.req), deleteAt: deleteAtFrom(x.req) };
  if (contentType !== undefined) attributes.contentType = contentType;
  if (await postManifest(x, refOf(route), attributes)) return;
  await x.ctx.core.objects.update(x.caller, refOf(route), attributes);
  sendBody(x.res, 202, { 'Content-Type': 'text/html; charset=UTF-8' }, '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>');
}

async function copyObject(route: CopyRoute, x: Exchange): Promise<void> {
  const { req } = x;
  let from: ObjectRef;
  let to: ObjectRef;
  if (route.via === 'COPY') {
    // `?version-id=` names the version to copy (the source GET Swift's copy makes carries the request's query).
    from = versionedRef(route, x);
    const destination = headerValue(req, 'destination');
    if (!destination) fail('PreconditionFailed', 'Destination header required');
    to = { account: accountHeader(req, 'destination-account') ?? route.account, ...containerAndObject(destination, 'Destination') };
  } else {
    if ((declaredLength(req) ?? 0) > 0) fail('InvalidArgument', 'Copy requests require a zero byte body');
    to = refOf(route);
    from = { account: accountHeader(req, 'x-copy-from-account') ?? route.account, ...containerAndObject(headerValue(req, 'x-copy-from') ?? '', 'X-Copy-From') };
  }
  const attributes = writeAttributes(req);
  await archiveBeforeWrite(x, to);
  const fresh = /^(true|1|yes|on|t|y)$/i.test(headerValue(req, 'x-fresh-metadata') ?? '');
  const { source, record } = await x.ctx.core.objects.copy(x.caller, from, to, {
    freshMetadata: fresh,
    contentType: route.via === 'COPY' ? attributes.contentType : explicitContentType(req),
    meta: attributes.meta,
    headers: attributes.headers,
    deleteAt: attributes.deleteAt,
    range: headerValue(req, 'range')?.replace(/ /g, ''),
    room: (target, size) => quotaRoom(x.ctx.core, target, size),
  });
  sendEmpty(x.res, 201, {
    ETag: record.etag,
    'Last-Modified': lastModifiedHeader(record),
    'X-Copied-From': `${encodeURIComponent(from.bucket)}/${encodeURIComponent(from.key).replace(/%2F/g, '/')}`,
    'X-Copied-From-Account': encodeURIComponent(from.account),
    'X-Copied-From-Last-Modified': lastModifiedHeader(source),
    'Content-Type': 'text/html; charset=UTF-8',
  });
}

/** Swift's config_true_value. */
const TRUE_VALUES: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on', 't', 'y']);

/** `X-If-Delete-At` on a DELETE: false (412 sent) when the object's X-Delete-At is another, as Swift's object server. */
async function deleteAtStillMatches(route: ObjectRoute, x: Exchange): Promise<boolean> {
  const expected = headerValue(x.req, 'x-if-delete-at');
  if (expected === undefined) return true;
  const value = pythonInt(expected);
  if (value === null || !Number.isFinite(value)) fail('InvalidArgument', 'Bad X-If-Delete-At header value');
  const record = await x.ctx.core.objects.head(x.caller, versionedRef(route, x), {});
  if (Math.floor((record.deleteAt ?? 0) / 1000) === value) return true;
  sendSwiftStatus(x.res, 412, false, 'X-If-Delete-At and X-Delete-At do not match', { 'Content-Type': 'text/html; charset=UTF-8' });
  return false;
}

function readConditions(req: IncomingMessage): ReadConditions {
  return {
    ifMatch: headerValue(req, 'if-match'),
    ifNoneMatch: headerValue(req, 'if-none-match'),
    ifModifiedSince: headerValue(req, 'if-modified-since'),
    ifUnmodifiedSince: headerValue(req, 'if-unmodified-since'),
  };
}

function containerAndObject(value: string, header: string): { bucket: string; key: string } {
  const path = value.startsWith('/') ? value.slice(1) : value;
  const slash = path.indexOf('/');
  const bucket = slash > 0 ? decodeHeaderPath(path.slice(0, slash)) : undefined;
  const key = slash > 0 ? decodeHeaderPath(path.slice(slash + 1)) : undefined;
  // Swift answers a malformed Destination / X-Copy-From with 412, not 400.
  if (!bucket || !key) fail('PreconditionFailed', `${header} header must be of the form <container name>/<object name>`);
  return { bucket, key };
}

function accountHeader(req: IncomingMessage, name: string): string | undefined {
  const value = headerValue(req, name);
  return value === undefined ? undefined : decode(value);
}

function checkHeaderSizes(req: IncomingMessage): void {
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const value = req.rawHeaders[i + 1] ?? '';
    if (value.length > MAX_HEADER_SIZE) throw new OnggiError('InvalidArgument', `Header value too long: ${req.rawHeaders[i] ?? ''}`);
  }
}

function notModifiedHeaders(record: ObjectRecord): Record<string, string | number> {
  return { ETag: record.etag, 'Last-Modified': lastModifiedHeader(record), 'Accept-Ranges': 'bytes' };
}

function refOf(route: { account: string; container: string; object: string }): ObjectRef {
  return { account: route.account, bucket: route.container, key: route.object };
}

/** The object, or one of its versions by `?version-id=`. */
function versionedRef(route: ObjectRoute | CopyRoute, x: Exchange): ObjectRef {
  const versionId = x.ctx.query.get('version-id');
  return versionId === null ? refOf(route) : { ...refOf(route), versionId };
}

/**
 * Writes the bodies out in order and ends the response. However it ends — written, failed, or the client gone at
 * any point (before the first byte, mid-range, between two ranges) — every body is closed with it, so no blob
 * stays open for a reader that is not there: the response's 'close' closes whatever is still open, even a body
 * whose write will never complete.
 */
async function streamBodies(res: ServerResponse, parts: Body[]): Promise<void> {
  const [only] = parts;
  if (parts.length === 1 && Buffer.isBuffer(only)) {
    res.end(only);
    return;
  }
  if (res.destroyed) {
    closeBodies(parts);
    return;
  }
  res.once('close', () => closeBodies(parts));
  try {
    for (const part of parts) await writeBody(part, res);
    res.end();
  } catch {
    closeBodies(parts);
    res.destroy();
  }
}

function closeBodies(bodies: Body[]): void {
  for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
}

