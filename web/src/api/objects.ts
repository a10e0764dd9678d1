/** Objects and folders through the Swift object API, `/v1/{account}/{bucket}/{key}`. */
import { ApiError, authHeaders, encodeKey, failure, fromWireHeader, request, toWireHeader } from './http.ts';

export interface ObjectEntry {
  kind: 'object';
  key: string;
  bytes: number;
  hash: string;
  contentType: string;
  lastModified: number;
}

/** A folder: a common prefix of keys, with or without a `folder/` marker object of its own. */
export interface FolderEntry {
  kind: 'folder';
  key: string;
}

export type Entry = ObjectEntry | FolderEntry;

export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  etag: string;
  lastModified: number;
  meta: Record<string, string>;
}

/** One version of an object (Swift's `?versions` listing); a delete marker has no bytes. */
export interface ObjectVersion {
  versionId: string;
  size: number;
  lastModified: number;
  isLatest: boolean;
  deleteMarker: boolean;
}

/** The bucket's versioning: never turned on, on, or suspended (Swift's `X-Versions-Enabled`). */
export type Versioning = 'off' | 'enabled' | 'suspended';

export const FOLDER_TYPE = 'application/directory';
const DELETE_MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1';

export function isFolderKey(key: string): boolean {
  return key.endsWith('/');
}

interface SwiftItem {
  name?: string;
  subdir?: string;
  bytes?: number;
  hash?: string;
  content_type?: string;
  last_modified?: string;
}

export class ObjectApi {
  constructor(private readonly account: string) {}

  /** The object's URL path on this origin (one of its versions, given its id). */
  objectPath(bucket: string, key: string, versionId?: string): string {
    return versionId === undefined ? this.path(bucket, key) : `${this.path(bucket, key)}?${new URLSearchParams({ 'version-id': versionId }).toString()}`;
  }

  private path(bucket: string, key = ''): string {
    return `/v1/${encodeURIComponent(this.account)}/${encodeURIComponent(bucket)}${key === '' ? '' : `/${encodeKey(key)}`}`;
  }

  /** One page of a folder: its sub-folders and objects after `marker`; `next` is the marker of the page after. */
  async listFolder(bucket: string, prefix: string, options: { marker?: string; limit: number; recursive?: boolean }): Promise<{ entries: Entry[]; next: string | null }> {
    const query = new URLSearchParams({ format: 'json', prefix, limit: String(options.limit + 1) });
    if (!options.recursive) query.set('delimiter', '/');
    if (options.marker) query.set('marker', options.marker);
    const response = await request('GET', `${this.path(bucket)}?${query.toString()}`);
    const items = (await response.json()) as SwiftItem[];
    const page = items.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      // In a folder's own listing its marker object (`a/` under `a/`) is the folder itself, not an entry of it.
      entries: page.map(entryOf).filter((entry) => options.recursive || prefix === '' || entry.key !== prefix),
      next: items.length > options.limit && last ? (last.subdir ?? last.name ?? null) : null,
    };
  }

  /**
   * Where the page before the one starting after `after` starts: the listing read backwards from `after` (Swift's
   * `reverse`), `limit` entries back; null when that page is the first.
   */
  async previousPageMarker(bucket: string, prefix: string, after: string, limit: number): Promise<string | null> {
    const query = new URLSearchParams({ format: 'json', prefix, delimiter: '/', reverse: 'true', marker: after, limit: String(limit) });
    const items = (await (await request('GET', `${this.path(bucket)}?${query.toString()}`)).json()) as SwiftItem[];
    const start = items.length < limit ? undefined : items[limit - 1];
    return start ? (start.subdir ?? start.name ?? null) : null;
  }

  /** Every key under a prefix (a folder's whole content, the folder's own marker included), for bulk actions. */
  async *allKeys(bucket: string, prefix: string): AsyncGenerator<string> {
    for await (const entry of this.allEntries(bucket, prefix)) yield entry.key;
  }

  /** Every object and folder marker under a prefix, in key order. */
  async *allEntries(bucket: string, prefix: string): AsyncGenerator<Entry> {
    let marker: string | undefined;
    for (;;) {
      const { entries, next } = await this.listFolder(bucket, prefix, { marker, limit: 1000, recursive: true });
      yield* entries;
      if (next === null) return;
      marker = next;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    const response = await request('HEAD', this.path(bucket, key));
    return infoOf(key, response.headers);
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await request('HEAD', this.path(bucket, key));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** Which of `keys` are taken already (a few HEAD requests at a time). */
  async existing(bucket: string, keys: readonly string[]): Promise<string[]> {
    const taken = new Set<string>();
    const queue = [...new Set(keys)];
    const worker = async (): Promise<void> => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) if (await this.exists(bucket, key)) taken.add(key);
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    return keys.filter((key) => taken.has(key));
  }

  async createFolder(bucket: string, key: string, meta: Record<string, string>): Promise<void> {
    await request('PUT', this.path(bucket, key), { headers: { 'Content-Type': FOLDER_TYPE, ...metaHeaders(meta) }, body: '' });
  }

  async delete(bucket: string, key: string): Promise<void> {
    await request('DELETE', this.path(bucket, key));
  }

  async copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<void> {
    const source = `/${encodeURIComponent(from.bucket)}/${encodeKey(from.key)}`;
    // An empty byte body: a string body would make fetch add `Content-Type: text/plain`, which replaces the copy's type.
    await request('PUT', this.path(to.bucket, to.key), { headers: { 'X-Copy-From': source }, body: new Uint8Array(0) });
  }

  /** Replaces the object's user metadata and content type (Swift's object POST). */
  async update(bucket: string, key: string, contentType: string, meta: Record<string, string>): Promise<void> {
    await request('POST', this.path(bucket, key), { headers: { 'Content-Type': contentType, ...metaHeaders(meta) } });
  }

  async download(bucket: string, key: string, versionId?: string): Promise<Blob> {
    const response = await request('GET', this.objectPath(bucket, key, versionId));
    return response.blob();
  }

  async versioning(bucket: string): Promise<Versioning> {
    const enabled = (await request('HEAD', this.path(bucket))).headers.get('x-versions-enabled');
    if (enabled === null) return 'off';
    return enabled.toLowerCase() === 'true' ? 'enabled' : 'suspended';
  }

  async setVersioning(bucket: string, on: boolean): Promise<void> {
    await request('POST', this.path(bucket), { headers: { 'X-Versions-Enabled': on ? 'true' : 'false' } });
  }

  /** Every version of one object, newest first (the listing's prefix also matches longer names: those are left out). */
  async versions(bucket: string, key: string): Promise<ObjectVersion[]> {
    const found: ObjectVersion[] = [];
    let marker = '';
    let versionMarker = '';
    for (;;) {
      const query = new URLSearchParams({ versions: '', format: 'json', prefix: key, limit: '1000' });
      if (marker !== '') query.set('marker', marker);
      if (versionMarker !== '') query.set('version_marker', versionMarker);
      const items = (await (await request('GET', `${this.path(bucket)}?${query.toString()}`)).json()) as (SwiftItem & { version_id?: string; is_latest?: boolean })[];
      for (const item of items) {
        if (item.name !== key) continue;
        found.push({
          versionId: item.version_id ?? '',
          size: item.bytes ?? 0,
          lastModified: listedTime(item.last_modified),
          isLatest: item.is_latest === true,
          deleteMarker: item.content_type === DELETE_MARKER_TYPE,
        });
      }
      const last = items[items.length - 1];
      if (items.length < 1000 || !last || last.name !== key) return found;
      marker = last.name;
      versionMarker = last.version_id ?? '';
    }
  }

  /** Copies a version over the object: it becomes the current version, a new one (the others stay). */
  async restoreVersion(bucket: string, key: string, versionId: string): Promise<void> {
    await request('COPY', this.objectPath(bucket, key, versionId), { headers: { Destination: `/${encodeURIComponent(bucket)}/${encodeKey(key)}` } });
  }

  async deleteVersion(bucket: string, key: string, versionId: string): Promise<void> {
    await request('DELETE', this.objectPath(bucket, key, versionId));
  }

  /** Uploads one file with the browser's upload progress events (fetch has none); `cancel` aborts it. */
  upload(bucket: string, key: string, file: Blob, onProgress: (loaded: number) => void): { done: Promise<void>; cancel: () => void } {
    const xhr = new XMLHttpRequest();
    const done = new Promise<void>((resolve, reject) => {
      xhr.open('PUT', this.path(bucket, key));
      for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      xhr.upload.onprogress = (event) => {
        onProgress(event.loaded);
      };
      xhr.onload = () => {
        if (xhr.status < 300) resolve();
        else reject(failure(xhr.status, xhr.responseText));
      };
      xhr.onerror = () => {
        reject(failure(0, 'network error'));
      };
      xhr.onabort = () => {
        reject(new DOMException('Upload cancelled', 'AbortError'));
      };
      xhr.send(file);
    });
    return {
      done,
      cancel: () => {
        xhr.abort();
      },
    };
  }
}

function entryOf(item: SwiftItem): Entry {
  if (item.subdir !== undefined) return { kind: 'folder', key: item.subdir };
  const key = item.name ?? '';
  if (isFolderKey(key)) return { kind: 'folder', key };
  return {
    kind: 'object',
    key,
    bytes: item.bytes ?? 0,
    hash: item.hash ?? '',
    contentType: item.content_type ?? '',
    // Swift lists times in UTC without a zone, to the microsecond; its Last-Modified header (the information panel's
    // time) is that time rounded up to the second: the list shows the same second.
    lastModified: listedTime(item.last_modified),
  };
}

function listedTime(text: string | undefined): number {
  return Math.ceil(Date.parse(`${text ?? ''}Z`) / 1000) * 1000;
}

function infoOf(key: string, headers: Headers): ObjectInfo {
  const meta: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith('x-object-meta-')) meta[name.slice('x-object-meta-'.length)] = fromWireHeader(value);
  });
  return {
    key,
    size: Number(headers.get('content-length') ?? 0),
    contentType: headers.get('content-type') ?? '',
    etag: (headers.get('etag') ?? '').replace(/"/g, ''),
    lastModified: Date.parse(headers.get('last-modified') ?? ''),
    meta,
  };
}

function metaHeaders(meta: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(meta)) headers[`X-Object-Meta-${name}`] = toWireHeader(value);
  return headers;
}
