/** The Swift error table: one place mapping core error codes to Swift statuses and bodies. */
import type { ServerResponse } from 'node:http';
import type { ErrorCode, OnggiError } from '../../core/errors.ts';
import { JSON_API_STATUS } from '../../http/error-status.ts';

interface SwiftStatus {
  status: number;
  title: string;
  /** Swift's canned HTML explanation; when absent, the core's message goes out as plain text. */
  explanation?: string;
}

const STATUSES: Record<number, SwiftStatus> = {
  401: { status: 401, title: 'Unauthorized', explanation: 'This server could not verify that you are authorized to access the document you requested.' },
  403: { status: 403, title: 'Forbidden', explanation: 'Access was denied to this resource.' },
  404: { status: 404, title: 'Not Found', explanation: 'The resource could not be found.' },
  405: { status: 405, title: 'Method Not Allowed', explanation: 'The method is not allowed for this resource.' },
  409: { status: 409, title: 'Conflict', explanation: 'There was a conflict when trying to complete your request.' },
  411: { status: 411, title: 'Length Required', explanation: 'Length Required' },
  412: { status: 412, title: 'Precondition Failed', explanation: 'A precondition for this request was not satisfied.' },
  413: { status: 413, title: 'Request Entity Too Large', explanation: 'The body of your request was too large for this server.' },
  416: { status: 416, title: 'Requested Range Not Satisfiable', explanation: 'The Range requested is not available.' },
  422: { status: 422, title: 'Unprocessable Entity', explanation: 'Unable to process the contained instructions' },
  501: { status: 501, title: 'Not Implemented' },
  503: { status: 503, title: 'Service Unavailable', explanation: 'The server is currently unavailable. Please try again at a later time.' },
  507: { status: 507, title: 'Insufficient Storage', explanation: 'There was not enough space to save the resource.' },
};

/** The JSON APIs' statuses, but for where Swift answers otherwise. */
const STATUS_OF: Record<ErrorCode, number> = {
  ...JSON_API_STATUS,
  IncompleteBody: 499,
  BadDigest: 422,
  ListingLimitExceeded: 412,
};

/** Messages that explain a 4xx precisely go out as given; the rest use Swift's canned bodies. */
const KEEP_MESSAGE: ReadonlySet<ErrorCode> = new Set(['ObjectLocked', 'InvalidRequest', 'InvalidRetentionPeriod', 'InvalidTag', 'MalformedPolicy', 'BrokenManifest', 'BrokenSymlink', 'ObjectDamaged', 'InvalidManifest', 'LimitExceeded', 'InvalidBucketName', 'InvalidObjectName', 'InvalidArgument', 'MetadataTooLarge', 'ListingLimitExceeded', 'Unsupported', 'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall']);

export function swiftStatusOf(code: ErrorCode): number {
  return STATUS_OF[code];
}

export function sendSwiftError(res: ServerResponse, err: OnggiError, isHead: boolean, extraHeaders: Record<string, string | number> = {}): void {
  const status = STATUS_OF[err.code];
  const keep = KEEP_MESSAGE.has(err.code) || (err.code === 'EntityTooLarge' && (err as OnggiError<'EntityTooLarge'>).detail.quota === true);
  sendSwiftStatus(res, status, isHead, keep ? messageOf(err) : undefined, extraHeaders);
}

/** The message, and for a multipart completion's refused part, which part it was. */
function messageOf(err: OnggiError): string {
  const { partNumber } = err.detail as { partNumber?: unknown };
  return typeof partNumber === 'number' ? `${err.message} (part ${partNumber})` : err.message;
}

export function sendSwiftStatus(res: ServerResponse, status: number, isHead: boolean, message?: string, extraHeaders: Record<string, string | number> = {}): void {
  const canned = STATUSES[status];
  let body = '';
  let type = 'text/html; charset=UTF-8';
  if (message !== undefined || !canned?.explanation) {
    body = message ?? canned?.title ?? '';
    type = 'text/plain; charset=UTF-8';
  } else if (status !== 304) {
    body = `<html><h1>${canned.title}</h1><p>${canned.explanation}</p></html>`;
  }
  if (status === 304) body = '';
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, ...extraHeaders, 'Content-Length': isHead ? 0 : bytes.length });
  res.end(isHead ? undefined : bytes);
}

/** `404 Not Found`: a status as Swift's bulk answers name it. */
export function swiftStatusLine(status: number): string {
  return `${status} ${STATUSES[status]?.title ?? OTHER_TITLES[status] ?? ''}`.trimEnd();
}

const OTHER_TITLES: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 400: 'Bad Request' };
