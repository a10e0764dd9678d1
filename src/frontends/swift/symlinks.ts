/**
 * Swift's symlinks onto core's links (core/large-objects.ts follows them, as the caller, two hops at most):
 * `X-Symlink-Target` (`-Account`, `-Etag` for a static link) on PUT, `?symlink=get` for the link itself.
 */
import { unquote } from '../../core/conditions.ts';
import { fail, isOnggiError } from '../../core/errors.ts';
import { MAX_SYMLINK_HOPS } from '../../core/large-objects.ts';
import type { ObjectRef, WriteAttributes } from '../../core/objects.ts';
import { headerValue } from '../../http/context.ts';
import { sendEmpty, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { objectHeaders } from './headers.ts';
import { registerInfo } from './info.ts';
import { swiftQuote } from './read-headers.ts';
import { decode } from './router.ts';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

registerInfo('symlink', () => ({ symloop_max: MAX_SYMLINK_HOPS, static_links: true }));

/** A PUT with `X-Symlink-Target` writes a link; false: not one. */
export async function putSymlink(x: Exchange, ref: ObjectRef, attributes: WriteAttributes, declaredLength: number | null): Promise<boolean> {
  const targetHeader = headerValue(x.req, 'x-symlink-target');
  if (targetHeader === undefined) return false;
  if (declaredLength !== 0) fail('InvalidArgument', 'Symlink requests require a zero byte body');
  const target = targetOf(targetHeader);
  const accountHeader = headerValue(x.req, 'x-symlink-target-account');
  const account = accountHeader === undefined ? ref.account : decode(accountHeader);
  if (!account) fail('PreconditionFailed', 'Account name cannot contain slashes');
  const pinned = headerValue(x.req, 'x-symlink-target-etag');
  const etag = pinned === undefined ? null : unquote(pinned.trim());
  const record = await x.ctx.core.objects.large.putSymlink(x.caller, ref, { account, ...target }, etag, attributes).catch((err: unknown) => {
    // A static link's target is checked now; Swift answers one that is not there with 409.
    if (etag !== null && isOnggiError(err) && (err.code === 'NoSuchKey' || err.code === 'NoSuchBucket')) fail('BrokenSymlink', 'X-Symlink-Target does not exist');
    throw err;
  });
  const headers: Record<string, string | number> = { ETag: EMPTY_MD5, 'Last-Modified': lastModifiedHeader(record), 'Content-Type': 'text/html; charset=UTF-8' };
  if (etag !== null) headers['X-Symlink-Target-Etag'] = etag;
  if (record.versionId !== 'null') headers['X-Object-Version-Id'] = record.versionId;
  sendEmpty(x.res, 201, headers);
  return true;
}

/** GET/HEAD `?symlink=get`: the link itself, not its target; false: the object is no link (read it as usual). */
export async function getSymlink(x: Exchange, ref: ObjectRef): Promise<boolean> {
  if (x.ctx.query.get('symlink') !== 'get') return false;
  const record = await x.ctx.core.objects.head(x.caller, ref, {}, undefined, true);
  const link = record.indirect;
  if (link?.kind !== 'symlink') return false;
  const headers = objectHeaders(record, x.caller.kind === 'anonymous');
  headers['X-Symlink-Target'] = `${swiftQuote(link.bucket)}/${swiftQuote(link.key)}`;
  if (link.account !== ref.account) headers['X-Symlink-Target-Account'] = swiftQuote(link.account);
  if (link.etag !== null) headers['X-Symlink-Target-Etag'] = link.etag;
  sendEmpty(x.res, 200, headers);
  return true;
}

/** Swift sets a link's target with PUT only. */
export function refuseSymlinkPost(x: Exchange): void {
  if (headerValue(x.req, 'x-symlink-target') !== undefined) fail('InvalidArgument', 'A PUT request is required to set a symlink target');
}

/** `<container>/<object>`, URL-quoted as clients send it; Swift answers another form with 412. */
function targetOf(value: string): { bucket: string; key: string } {
  const text = value.replace(/^\//, '');
  const slash = text.indexOf('/');
  const bucket = slash > 0 ? decode(text.slice(0, slash)) : undefined;
  const key = slash > 0 ? decode(text.slice(slash + 1)) : undefined;
  if (!bucket || !key) fail('PreconditionFailed', 'X-Symlink-Target header must be of the form <container name>/<object name>');
  return { bucket, key };
}
