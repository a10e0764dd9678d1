/**
 * Static websites from a container (Swift's staticweb middleware), for anonymous GET and HEAD (and for
 * tokens sending `X-Web-Mode: true`), when the container sets any of:
 *   `X-Container-Meta-Web-Index`          the object served for a directory (`index.html`)
 *   `X-Container-Meta-Web-Listings`       true: an HTML listing of a directory without an index
 *   `X-Container-Meta-Web-Listings-CSS`   a style sheet for listings (relative to the listing, or absolute)
 *   `X-Container-Meta-Web-Error`          `<status><name>` (`404error.html`) served with a 401 or 404
 *   `X-Container-Meta-Web-Directory-Type` the content type of directory markers (default application/directory)
 * Reads go through `authorize()` as the caller: a container needs `.r:*` to be a site, `.rlistings` to be listed.
 */
import type { ObjectRef } from '../../core/objects.ts';
import { writeBody } from '../../core/objects.ts';
import { isOnggiError } from '../../core/errors.ts';
import type { Metadata } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import type { Exchange } from './exchange.ts';
import { objectHeaders } from './headers.ts';
import { registerInfo } from './info.ts';
import type { ContainerRoute, ObjectRoute } from './router.ts';

registerInfo('staticweb', () => ({}));

interface WebSettings {
  index: string | undefined;
  error: string | undefined;
  listings: boolean;
  listingsCss: string | undefined;
  directoryType: string;
}

const TRUE = /^(true|1|yes|on|t|y)$/i;

function settingsOf(meta: Metadata): WebSettings | null {
  const index = meta['web-index'] || undefined;
  const error = meta['web-error'] || undefined;
  const listings = TRUE.test(meta['web-listings'] ?? '');
  if (index === undefined && error === undefined && !listings) return null;
  return { index, error, listings, listingsCss: meta['web-listings-css'] || undefined, directoryType: meta['web-directory-type'] || 'application/directory' };
}

/** Whether staticweb looks at the request: an anonymous read, or a token's with `X-Web-Mode: true`. */
export function isWebRead(x: Exchange): boolean {
  if (x.req.method !== 'GET' && x.req.method !== 'HEAD') return false;
  return x.caller.kind === 'anonymous' ? x.caller.scope === undefined : TRUE.test(headerValue(x.req, 'x-web-mode') ?? '');
}

/** Serves the request as a website when its container is one (true: answered). */
export async function serveWeb(route: ContainerRoute | ObjectRoute, x: Exchange): Promise<boolean> {
  const bucket = await x.ctx.core.buckets.row(route.account, route.container);
  const settings = bucket ? settingsOf(bucket.meta) : null;
  if (!settings) return false;
  const base = { account: route.account, bucket: route.container };
  if (!('object' in route)) {
    if (settings.index === undefined && !settings.listings) return false;
    if (!x.ctx.rawPath.endsWith('/')) return redirect(x, `${x.ctx.rawPath}/`);
    return serveDirectory(x, settings, base, '');
  }
  const key = route.object;
  if (key.endsWith('/')) return serveDirectory(x, settings, base, key);
  const found = await lookAt(x, { ...base, key });
  // An object that is there is read as any other (ranges, conditions): the site adds nothing to it.
  if (found === 'object') return false;
  if (found === 'directory' || (found === 404 && (await isDirectory(x, settings, base, key)))) {
    if (settings.index !== undefined || settings.listings) return redirect(x, `${x.ctx.rawPath}/`);
  }
  return sendError(x, settings, base, found === 'directory' ? 404 : found);

  /** Whether the name is an object, a directory marker (Web-Directory-Type), or what reading it answers (401, 404). */
  async function lookAt(ex: Exchange, ref: ObjectRef): Promise<'object' | 'directory' | number> {
    try {
      const head = await ex.ctx.core.objects.head(ex.caller, ref, {});
      return head.contentType === settings?.directoryType ? 'directory' : 'object';
    } catch (err) {
      if (!isOnggiError(err)) throw err;
      return statusOf(err.code);
    }
  }
}

async function isDirectory(x: Exchange, settings: WebSettings, base: { account: string; bucket: string }, key: string): Promise<boolean> {
  if (settings.index !== undefined && (await exists(x, { ...base, key: `${key}/${settings.index}` }))) return true;
  try {
    const { entries } = await x.ctx.core.objects.list(x.caller, base.account, base.bucket, { prefix: `${key}/`, delimiter: '', marker: '', endMarker: '', limit: 1, reverse: false });
    return entries.length > 0;
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
}

async function serveDirectory(x: Exchange, settings: WebSettings, base: { account: string; bucket: string }, prefix: string): Promise<boolean> {
  if (settings.index !== undefined && (await sendObject(x, { ...base, key: `${prefix}${settings.index}` }, 200))) return true;
  if (!settings.listings) return sendError(x, settings, base, 404);
  try {
    const { entries } = await x.ctx.core.objects.list(x.caller, base.account, base.bucket, { prefix, delimiter: '/', marker: '', endMarker: '', limit: 10_000, reverse: false });
    if (entries.length === 0 && prefix !== '') return await sendError(x, settings, base, 404);
    const html = listingHtml(x.ctx.rawPath, prefix, settings.listingsCss, entries);
    const body = Buffer.from(html);
    x.res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': body.length });
    x.res.end(x.req.method === 'HEAD' ? undefined : body);
    return true;
  } catch (err) {
    if (!isOnggiError(err)) throw err;
    return sendError(x, settings, base, statusOf(err.code));
  }
}

/** Swift's error page: `<status><Web-Error>` with the status, when the container has one; else the bare status. */
async function sendError(x: Exchange, settings: WebSettings, base: { account: string; bucket: string }, status: number): Promise<boolean> {
  if (settings.error !== undefined && (status === 401 || status === 404) && (await sendObject(x, { ...base, key: `${status}${settings.error}` }, status))) return true;
  return false;
}

async function exists(x: Exchange, ref: ObjectRef): Promise<boolean> {
  try {
    await x.ctx.core.objects.head(x.caller, ref, {});
    return true;
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
}

/** Sends the object with `status` (false: it cannot be read, nothing sent). */
async function sendObject(x: Exchange, ref: ObjectRef, status: number): Promise<boolean> {
  let read;
  try {
    read = await x.ctx.core.objects.get(x.caller, ref, {}, undefined);
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
  const { record, bodies } = read;
  // A site's pages are meant to render: served as their owner typed them (objectHeaders still sandboxes them).
  x.res.writeHead(status, { ...objectHeaders(record, false), 'Content-Length': record.size });
  if (x.req.method === 'HEAD') {
    for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
    x.res.end();
    return true;
  }
  try {
    for (const body of bodies) await writeBody(body, x.res);
    x.res.end();
  } catch {
    for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
    x.res.destroy();
  }
  return true;
}

function redirect(x: Exchange, location: string): true {
  x.res.writeHead(301, { Location: location, 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': 0 }).end();
  return true;
}

function statusOf(code: string): number {
  if (code === 'Unauthenticated') return 401;
  if (code === 'AccessDenied') return 403;
  return 404;
}

type Entry = Awaited<ReturnType<Exchange['ctx']['core']['objects']['list']>>['entries'][number];

function listingHtml(rawPath: string, prefix: string, css: string | undefined, entries: readonly Entry[]): string {
  const title = `Listing of ${escapeHtml(decodeURIComponent(rawPath))}`;
  const depth = prefix.split('/').length - 1;
  const style = css === undefined
    ? '  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n'
    : `  <link rel="stylesheet" type="text/css" href="${escapeHtml(/^(\/|[a-z][a-z0-9+.-]*:)/i.test(css) ? css : `${'../'.repeat(depth)}${css}`)}" />\n`;
  const rows: string[] = [];
  if (prefix !== '') rows.push(row('parent', '../', '../', '&nbsp;', '&nbsp;'));
  for (const entry of entries) {
    if (entry.kind === 'prefix') {
      const name = entry.prefix.slice(prefix.length);
      rows.push(row('item subdir', encodeURIComponent(name.slice(0, -1)) + '/', escapeHtml(name), '&nbsp;', '&nbsp;'));
    } else {
      const name = entry.item.key.slice(prefix.length);
      const types = entry.item.contentType.split(';')[0]?.trim().toLowerCase().split('/').map((part) => `type-${escapeHtml(part)}`).join(' ') ?? '';
      const date = new Date(entry.item.lastModified).toISOString().slice(0, 19).replace('T', ' ');
      rows.push(row(`item ${types}`, encodeURIComponent(name), escapeHtml(name), humanReadable(entry.item.size), date));
    }
  }
  return (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n' +
    `<html>\n <head>\n  <title>${title}</title>\n${style} </head>\n <body>\n  <h1 id="title">${title}</h1>\n  <table id="listing">\n` +
    '   <tr id="heading">\n    <th class="colname">Name</th>\n    <th class="colsize">Size</th>\n    <th class="coldate">Date</th>\n   </tr>\n' +
    rows.join('') +
    '  </table>\n </body>\n</html>\n'
  );
}

function row(kind: string, href: string, name: string, size: string, date: string): string {
  const attribute = kind === 'parent' ? 'id="parent"' : `class="${kind}"`;
  return `   <tr ${attribute}>\n    <td class="colname"><a href="${href}">${name}</a></td>\n    <td class="colsize">${size}</td>\n    <td class="coldate">${date}</td>\n   </tr>\n`;
}

/** Swift's sizes in listings: bytes below 1 KiB, then rounded `NKi`, `NMi`, … */
function humanReadable(size: number): string {
  const suffixes = 'KMGTPEZY';
  let value = size;
  let index = -1;
  while (value >= 1024 && index + 1 < suffixes.length) {
    index += 1;
    value = Math.round(value / 1024);
  }
  return index < 0 ? String(value) : `${value}${suffixes[index] ?? ''}i`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
