/** /console: the built web console (one page app) from this process; and `GET /` sending a browser there. */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { headerValue, type FrontEnd } from '../../http/context.ts';
import { loadSite, type Site, type SiteFile } from './site.ts';

export const CONSOLE_PATH = '/console/';

/** Where `npm run build` puts the console: the package's dist/console, seen from src/ (tsx) or dist/ (tsc) alike. */
export function defaultConsoleDir(): string {
  return join(import.meta.dirname, '..', '..', '..', 'dist', 'console');
}

/**
 * The console talks to the same origin's public APIs only; nothing inline, nothing from elsewhere.
 * (Images shown in the console come from this origin or from blob: URLs it makes itself.)
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Serves the console built in `dir`; while there is none there, it is looked for again on each request. */
export function createConsoleFrontEnd(dir: string): FrontEnd {
  let site: Promise<Site | null> | null = null;
  return async (req, res, ctx) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
      return;
    }
    if (ctx.rawPath === '/console') {
      redirect(res, 301, CONSOLE_PATH);
      return;
    }
    site ??= loadSite(dir);
    const loaded = await site;
    if (!loaded) {
      site = null;
      sendText(res, 503, 'The web console has not been built. Run `npm run build`, then restart Onggi.');
      return;
    }
    const file = fileFor(loaded, ctx.rawPath.slice(CONSOLE_PATH.length));
    if (!file) {
      sendText(res, 404, 'Not Found');
      return;
    }
    sendFile(req, res, file);
  };
}

/** `GET /` from a browser (asks for HTML, signs nothing) opens the console; anything else there is not ours. */
export const rootFrontEnd: FrontEnd = async (req, res) => {
  const browserGet = (req.method === 'GET' || req.method === 'HEAD') && req.headers.authorization === undefined;
  if (browserGet && (headerValue(req, 'accept') ?? '').includes('text/html')) redirect(res, 302, CONSOLE_PATH);
  else sendText(res, 404, 'Not Found');
};

function fileFor(site: Site, path: string): SiteFile | undefined {
  const file = site.get(path === '' ? 'index.html' : path);
  if (file) return file;
  // A missing script or style is a 404; any other path is a console screen that the app routes itself.
  return path.startsWith('assets/') ? undefined : site.get('index.html');
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: SiteFile): void {
  const headers: Record<string, string | number> = {
    'Content-Type': file.type,
    'Cache-Control': file.cacheControl,
    ETag: file.etag,
    Vary: 'Accept-Encoding',
    ...SECURITY_HEADERS,
  };
  if (etagMatches(headerValue(req, 'if-none-match'), file.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = file.gzip !== null && acceptsGzip(headerValue(req, 'accept-encoding'));
  const body = gzip && file.gzip ? file.gzip : file.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = body.length;
  res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** `gzip` listed in Accept-Encoding and not refused with q=0. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  for (const entry of (acceptEncoding ?? '').split(',')) {
    const [coding = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((param) => param.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function redirect(res: ServerResponse, status: 301 | 302, location: string): void {
  res.writeHead(status, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-cache' }).end();
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
