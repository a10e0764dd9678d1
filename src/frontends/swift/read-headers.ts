/**
 * Headers an object's GET or HEAD owes to what the object is: a static or dynamic large object (Swift quotes
 * their ETags, which are not an MD5 of the body) or a multipart upload's, a symbolic link followed (`Content-Location`), a version with
 * an id of its own (`X-Object-Version-Id`).
 */
import { NULL_VERSION_ID } from '../../core/versions.ts';
import type { ObjectRecord } from '../../core/types.ts';

export function addReadHeaders(record: ObjectRecord, headers: Record<string, string | number>): void {
  if (record.versionId !== NULL_VERSION_ID) headers['X-Object-Version-Id'] = record.versionId;
  const { linkedTo, indirect } = record;
  if (linkedTo) headers['Content-Location'] = `/v1/${swiftQuote(linkedTo.account)}/${swiftQuote(linkedTo.bucket)}/${swiftQuote(linkedTo.key)}`;
  if (indirect?.kind === 'static-manifest') {
    headers['X-Static-Large-Object'] = 'True';
    headers.ETag = `"${record.etag}"`;
  } else if (indirect?.kind === 'dynamic-manifest') {
    headers['X-Object-Manifest'] = `${swiftQuote(indirect.bucket)}/${swiftQuote(indirect.prefix)}`;
    headers.ETag = `"${record.etag}"`;
  } else if (record.parts !== undefined) {
    // As Swift's S3 layer stores a multipart upload (an SLO of its parts): its clients then skip the MD5 check
    // that an ETag of `<md5 of md5s>-<parts>` would fail.
    headers['X-Static-Large-Object'] = 'True';
  }
}

/** What Swift's listings add for a static large object (`slo_etag`) and a link (`symlink_path`). */
export function addIndirectFields(record: ObjectRecord, fields: Record<string, string | number>): void {
  const { indirect } = record;
  if (indirect?.kind === 'static-manifest') fields.slo_etag = `"${record.etag}"`;
  if (indirect?.kind === 'symlink') fields.symlink_path = `/v1/${swiftQuote(indirect.account)}/${swiftQuote(indirect.bucket)}/${swiftQuote(indirect.key)}`;
}

/** Python's `urllib.parse.quote` (`/` kept), as Swift and its clients quote names in headers. */
export function swiftQuote(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
