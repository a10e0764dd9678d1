/**
 * Swift's FormPost: an HTML form (`multipart/form-data`) POSTed to `/v1/<account>/<container>[/<prefix>]` uploads
 * its files as `<prefix><filename>`, signed with the temp URL keys over
 * `<path>\n<redirect>\n<max_file_size>\n<max_file_count>\n<expires>`. The fields come before the files; each file
 * streams into core as a write of a caller scoped to the prefix (see `SignedScope`); a file over `max_file_size` is
 * refused and not stored. Answers, redirects and messages are Swift's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { asOnggiError } from '../../core/errors.ts';
import type { Caller } from '../../core/types.ts';
import { headerValue, type RequestContext } from '../../http/context.ts';
import { swiftStatusOf } from './errors.ts';
import { wireHeader } from './headers.ts';
import { registerInfo } from './info.ts';
import { quotaRoom } from './quotas.ts';
import { decode } from './router.ts';
import { SIGNATURE_DIGESTS, signatureOf, signingKeysOf } from './tempurl.ts';

/** Swift reads at most this much of a form field. */
const MAX_VALUE_LENGTH = 4096;
const STATUS_LINES: Readonly<Record<number, string>> = {
  201: '201 Created',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  413: '413 Request Entity Too Large',
  503: '503 Service Unavailable',
  507: '507 Insufficient Storage',
};

registerInfo('formpost', () => ({ allowed_digests: [...SIGNATURE_DIGESTS] }));

/** A refusal of the whole form, answered without a redirect (Swift's FormInvalid / FormUnauthorized). */
class FormRefused extends Error {
  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }
}

/** Whether the request is a form upload (a POST of `multipart/form-data` with a boundary). */
export function isFormPost(req: IncomingMessage): boolean {
  const type = headerValue(req, 'content-type') ?? '';
  return req.method === 'POST' && /^\s*multipart\/form-data\s*;/i.test(type) && /;\s*boundary=/i.test(type);
}

interface Target {
  account: string;
  container: string;
  /** The object part of the path: uploaded names start with it. */
  prefix: string;
}

interface Outcome {
  status: number;
  message: string;
}

export async function formPost(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, target: Target): Promise<void> {
  ctx.op = 'FormPost';
  const attributes: Record<string, string> = {};
  let outcome: Outcome;
  try {
    outcome = await uploadForm(req, ctx, target, attributes);
  } catch (caught) {
    // A client gone mid-form hears nothing more.
    if (!(caught instanceof FormRefused) && (req.destroyed || req.readableAborted)) {
      res.destroy();
      return;
    }
    if (!(caught instanceof FormRefused)) throw caught;
    const body = `FormPost: ${caught.message}`;
    res.writeHead(caught.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  answer(res, outcome, attributes.redirect);
}

/** Reads the form, storing each file in turn; the outcome of the last file (or why it stopped). */
function uploadForm(req: IncomingMessage, ctx: RequestContext, target: Target, attributes: Record<string, string>): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: MAX_VALUE_LENGTH } });
    } catch {
      reject(new FormRefused(400, 'invalid starting boundary'));
      return;
    }
    let fileCount = 0;
    let last: Outcome | null = null;
    let failed: Error | null = null;
    let queue = Promise.resolve();
    parser.on('field', (name, value) => {
      attributes[name.toLowerCase()] = value.replace(/[\r\n-]+$/, '');
    });
    parser.on('file', (_name, stream, info) => {
      if (failed !== null || (last !== null && last.status !== 201)) {
        stream.resume();
        return;
      }
      // The parser may run ahead of the uploads: each file goes with the count and fields seen before it.
      const count = ++fileCount;
      const fields = { ...attributes };
      queue = queue.then(async () => {
        try {
          // A file after one that failed is read and dropped, as Swift stops at the first failure.
          if (failed !== null || (last !== null && last.status !== 201)) return;
          last = await storeFile(ctx, target, fields, count, info.filename || 'filename', info.mimeType, stream);
        } catch (err) {
          failed = err instanceof Error ? err : new Error(String(err));
        } finally {
          stream.resume();
        }
      });
    });
    parser.on('error', () => {
      const reason = failed ?? new FormRefused(400, 'invalid starting boundary');
      failed = reason;
      req.unpipe(parser);
      req.resume();
      void queue.then(() => reject(reason));
    });
    parser.on('close', () => {
      void queue.then(() => {
        if (failed !== null) reject(failed);
        else resolve(last ?? { status: 400, message: 'no files to process' });
      });
    });
    req.pipe(parser);
  });
}

async function storeFile(
  ctx: RequestContext,
  target: Target,
  attributes: Record<string, string>,
  fileCount: number,
  filename: string,
  mimeType: string,
  stream: Readable,
): Promise<Outcome> {
  const maxFileCount = integerField(attributes, 'max_file_count', 'max_file_count not an integer');
  if (fileCount > maxFileCount) return { status: 400, message: 'max file count exceeded' };
  const maxFileSize = integerField(attributes, 'max_file_size', 'max_file_size not an integer');
  const deleteAt = deleteAtOf(attributes);
  const expires = integerField(attributes, 'expires', 'expired not an integer');
  if (expires * 1000 < Date.now()) throw new FormRefused(401, 'Form Expired');
  await checkSignature(ctx, target, attributes);
  const caller: Caller = {
    kind: 'anonymous',
    ip: ctx.clientIp,
    context: { ip: ctx.clientIp, secure: ctx.overTls() },
    scope: { account: target.account, bucket: target.container, target: { prefix: target.prefix }, actions: ['PutObject'] },
  };
  const capped = { exceeded: false };
  try {
    const bucket = await ctx.core.buckets.row(target.account, target.container);
    const checkingRoom = bucket ? quotaRoom(ctx.core, bucket, null) : undefined;
    await ctx.core.objects.put(caller, {
      quotaRoom: checkingRoom && (await checkingRoom),
      account: target.account,
      bucket: target.container,
      key: `${target.prefix}${filename}`,
      contentType: attributes['content-type'] || mimeType || 'application/octet-stream',
      meta: {},
      headers: {},
      deleteAt,
      body: cappedBody(stream, maxFileSize, capped),
      contentLength: null,
    });
  } catch (caught) {
    if (capped.exceeded) throw new FormRefused(400, 'max_file_size exceeded');
    const err = asOnggiError(caught);
    if (!err) throw caught;
    return { status: swiftStatusOf(err.code), message: '' };
  }
  return { status: 201, message: '' };
}

/** The file's bytes, failing (so that nothing is stored) once they pass `max`. */
async function* cappedBody(stream: Readable, max: number, capped: { exceeded: boolean }): AsyncGenerator<Uint8Array> {
  let size = 0;
  // Not destroyed when this stops early: the parser needs the rest of the part drained to go on.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      capped.exceeded = true;
      throw new Error('max_file_size exceeded');
    }
    yield chunk;
  }
}

function integerField(attributes: Record<string, string>, name: string, refusal: string): number {
  const value = attributes[name] || '0';
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new FormRefused(400, refusal);
  return Number(value);
}

/** `x_delete_at` (Unix seconds) or `x_delete_after` (seconds from now), as epoch milliseconds. */
function deleteAtOf(attributes: Record<string, string>): number | null {
  if (attributes.x_delete_after !== undefined) {
    return Date.now() + integerField(attributes, 'x_delete_after', 'x_delete_after not an integer: Number of seconds required.') * 1000;
  }
  if (attributes.x_delete_at !== undefined) return integerField(attributes, 'x_delete_at', 'x_delete_at not an integer: Unix timestamp required.') * 1000;
  return null;
}

async function checkSignature(ctx: RequestContext, target: Target, attributes: Record<string, string>): Promise<void> {
  const signature = signatureOf(attributes.signature ?? null);
  const keys = await signingKeysOf(ctx, target.account, target.container);
  if (!signature || keys.length === 0) throw new FormRefused(401, 'Invalid Signature');
  // The path as sent (decoded), as Swift signs PATH_INFO: `/v1/a/c/` and `/v1/a/c` are two paths.
  const path = decode(ctx.rawPath) ?? `/v1/${target.account}/${target.container}/${target.prefix}`;
  const body = [path, attributes.redirect ?? '', attributes.max_file_size || '0', attributes.max_file_count || '0', attributes.expires || '0'].join('\n');
  const valid = keys.some((key) => {
    const expected = createHmac(signature.digest, key).update(body).digest();
    return expected.length === signature.bytes.length && timingSafeEqual(expected, signature.bytes);
  });
  if (!valid) throw new FormRefused(401, 'Invalid Signature');
}

/** Swift's answer: the status line (and message) as text, or a 303 to `redirect` with them in its query. */
function answer(res: ServerResponse, outcome: Outcome, redirect: string | undefined): void {
  const statusLine = STATUS_LINES[outcome.status] ?? String(outcome.status);
  if (!redirect) {
    const body = outcome.message ? `${statusLine}\r\nFormPost: ${titleCase(outcome.message)}` : statusLine;
    res.writeHead(outcome.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const location = `${redirect}${redirect.includes('?') ? '&' : '?'}status=${outcome.status}&message=${encodeURIComponent(outcome.message)}`;
  const body = `<html><body><p><a href="${location.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}">Click to continue...</a></p></body></html>`;
  res.writeHead(303, { Location: wireHeader(location), 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Python's `str.title()`, which Swift's messages go through. */
function titleCase(text: string): string {
  return text.replace(/[A-Za-z]+/g, (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase());
}
