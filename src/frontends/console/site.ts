/** The built console, read once into memory: each file with its content type, ETag, caching rule and gzip form. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { contentType } from 'mime-types';

export interface SiteFile {
  body: Buffer;
  /** The gzip form, when it is worth sending (compressible type, smaller than the original). */
  gzip: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Files keyed by their path below the console's root, e.g. `index.html`, `assets/index-3f2a1b.js`. */
export type Site = ReadonlyMap<string, SiteFile>;

const COMPRESSIBLE = /^(text\/|application\/(javascript|json|manifest\+json|xml)|image\/svg\+xml)/;
/** Vite puts content-hashed names under assets/: they never change, so browsers may keep them for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Reads every file under `dir`; null when the console has not been built there. */
export async function loadSite(dir: string): Promise<Site | null> {
  let names: string[];
  try {
    names = await readdir(dir, { recursive: true });
  } catch {
    return null;
  }
  const site = new Map<string, SiteFile>();
  for (const name of names) {
    const path = join(dir, name);
    const body = await readFile(path).catch(() => null);
    if (body === null) continue; // a directory
    const key = relative(dir, path).split(sep).join('/');
    site.set(key, siteFile(key, body));
  }
  return site.has('index.html') ? site : null;
}

function siteFile(key: string, body: Buffer): SiteFile {
  const type = contentType(key.slice(key.lastIndexOf('/') + 1)) || 'application/octet-stream';
  const gzip = COMPRESSIBLE.test(type) ? gzipSync(body, { level: 9 }) : null;
  return {
    body,
    gzip: gzip && gzip.length < body.length ? gzip : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cacheControl: key.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
  };
}
