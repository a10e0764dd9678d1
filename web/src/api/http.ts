/** Every request the console makes goes through here: the token, the wire encoding of text headers, errors. */

/** What went wrong, in the terms the console explains to a person. */
export type Problem = 'signedOut' | 'forbidden' | 'notFound' | 'conflict' | 'tooLarge' | 'invalid' | 'network' | 'server';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The server's own message, shown under the plain-words explanation. */
    readonly detail: string,
    /** The server's error code (`/v1_ext`'s `code`, e.g. `NoSuchUser`), when it gave one. */
    readonly code = '',
    /** The answer's body as it came. */
    readonly body = '',
  ) {
    super(detail || `HTTP ${status}`);
  }

  get problem(): Problem {
    if (this.status === 0) return 'network';
    if (this.status === 401) return 'signedOut';
    if (this.status === 403) return 'forbidden';
    if (this.status === 404) return 'notFound';
    if (this.status === 409) return 'conflict';
    if (this.status === 413) return 'tooLarge';
    if (this.status >= 400 && this.status < 500) return 'invalid';
    return 'server';
  }
}

let currentToken: string | null = null;
let onSignedOut: (() => void) | null = null;

/** The token every later request carries; `signedOut` runs when the server stops accepting it. */
export function setSessionToken(token: string | null, signedOut: (() => void) | null): void {
  currentToken = token;
  onSignedOut = signedOut;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: BodyInit;
  json?: unknown;
  signal?: AbortSignal;
}

/** One API call with the session's token; any answer outside 2xx/3xx becomes an ApiError. */
export async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (currentToken !== null) headers['X-Auth-Token'] = currentToken;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body ?? null, signal: options.signal ?? null, cache: 'no-store' });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, err instanceof Error ? err.message : String(err));
  }
  if (response.status >= 400) throw await errorOf(response);
  return response;
}

export async function errorOf(response: Response): Promise<ApiError> {
  return failure(response.status, await response.text().catch(() => ''));
}

/** The error for a refused request; a 401 on a signed-in session also ends that session. */
export function failure(status: number, body: string): ApiError {
  if (status === 401 && currentToken !== null) onSignedOut?.();
  return new ApiError(status, messageOf(body), codeOf(status, body), body);
}

/** Swift's refusal of a locked version is a 409 in plain text, worded as S3's (src/core/object-lock.ts). */
const OBJECT_LOCKED = /protected by object lock/i;

function codeOf(status: number, text: string): string {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code : '';
  } catch {
    return status === 409 && OBJECT_LOCKED.test(text) ? 'ObjectLocked' : '';
  }
}

export function authHeaders(): Record<string, string> {
  return currentToken === null ? {} : { 'X-Auth-Token': currentToken };
}

/** `/v1_ext` says `{message}`, Keystone `{error: {message}}`, Swift a line of HTML. */
export function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } };
    const message = body.message ?? body.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Swift stores header text as UTF-8 bytes; fetch sends each char of a header string below U+0100 as one byte. */
export function toWireHeader(text: string): string {
  return String.fromCharCode(...new TextEncoder().encode(text));
}

export function fromWireHeader(value: string): string {
  return new TextDecoder().decode(Uint8Array.from(value, (char) => char.charCodeAt(0)));
}

/** A key's path segments percent-encoded, its `/` kept: `/v1/{account}/{bucket}/{key}` as the tutorial prints it. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
