/**
 * The console's service worker, scoped to /console/download/ only (the console's own pages never pass through it).
 * A download is the browser's own: the page hands over the object's URL (or, for several objects, their URLs and
 * their names in a ZIP file) and the session token with a one-time id, then opens /console/download/{id} in a
 * hidden frame; this worker answers that with the bytes as they arrive (an attachment, so the browser saves it to
 * disk), pulled only as fast as the disk takes them, so no tab ever holds an object. Progress, the end and errors
 * go back to the page over the message port it sent.
 */
import { downloadZip } from 'client-zip';

/** One object of a ZIP download: where it is, and its path in the archive (a folder's ends in a slash). */
export interface ZipEntry {
  url: string | null;
  path: string;
  lastModified: number;
}

interface DownloadJob {
  token: string;
  name: string;
  port: MessagePort;
  /** One object (`url`) or several in a ZIP file (`entries`). */
  url?: string;
  entries?: ZipEntry[];
}

/** The few service-worker types used here (the web/ project compiles against the DOM library, not WebWorker). */
interface FetchEventLike extends Event {
  request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: Event & { waitUntil(p: Promise<unknown>): void }) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
}

const scope = self as unknown as WorkerScope;
const jobs = new Map<string, DownloadJob>();
const PROGRESS_EVERY_MS = 150;

scope.addEventListener('install', (event) => {
  event.waitUntil(scope.skipWaiting());
});
scope.addEventListener('activate', (event) => {
  event.waitUntil(scope.clients.claim());
});

scope.addEventListener('message', (event) => {
  const data = event.data as { type?: string; id?: string; url?: string; entries?: ZipEntry[]; token?: string; name?: string };
  const port = event.ports[0];
  if (!port || !data.id || data.token === undefined || !data.name) return;
  if (data.type === 'download' && data.url) jobs.set(data.id, { url: data.url, token: data.token, name: data.name, port });
  else if (data.type === 'zip' && Array.isArray(data.entries)) jobs.set(data.id, { entries: data.entries, token: data.token, name: data.name, port });
  else return;
  // A link that is not opened soon is forgotten (with its token).
  setTimeout(() => jobs.delete(data.id ?? ''), 60_000);
  port.postMessage({ type: 'ready' });
});

scope.addEventListener('fetch', (event) => {
  const match = /\/console\/download\/([\w-]+)$/.exec(new URL(event.request.url).pathname);
  if (!match?.[1]) return;
  const job = jobs.get(match[1]);
  jobs.delete(match[1]);
  event.respondWith(job ? respond(job) : new Response('This download link has expired.', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }));
});

function respond(job: DownloadJob): Promise<Response> | Response {
  if (job.entries) return respondZip(job, job.entries);
  return respondOne(job, job.url ?? '');
}

async function respondOne(job: DownloadJob, url: string): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await fetch(url, { headers: { 'X-Auth-Token': job.token }, cache: 'no-store' });
  } catch (err) {
    report(job, err);
    return new Response('The server could not be reached.', { status: 502 });
  }
  if (!upstream.ok || !upstream.body) {
    const text = await upstream.text().catch(() => '');
    job.port.postMessage({ type: 'error', status: upstream.status, detail: text });
    return new Response(text, { status: upstream.status });
  }
  const length = upstream.headers.get('content-length');
  job.port.postMessage({ type: 'start', total: length === null ? null : Number(length) });
  const headers = attachment(job.name, upstream.headers.get('content-type') ?? 'application/octet-stream');
  if (length !== null) headers.set('Content-Length', length);
  return new Response(relay(upstream.body, job), { headers });
}

/**
 * Several objects as one ZIP file (stored, not compressed), each object fetched only when the archive reaches it.
 * An object that cannot be read fails the whole download: a ZIP file without it would look complete.
 */
function respondZip(job: DownloadJob, entries: ZipEntry[]): Response {
  async function* files(): AsyncGenerator<{ name: string; lastModified: Date; input?: Response }> {
    for (const entry of entries) {
      const lastModified = new Date(entry.lastModified);
      if (entry.url === null) {
        yield { name: entry.path, lastModified };
        continue;
      }
      const response = await fetch(entry.url, { headers: { 'X-Auth-Token': job.token }, cache: 'no-store' });
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw Object.assign(new Error(`${entry.path}: ${text || response.statusText}`), { status: response.status });
      }
      yield { name: entry.path, lastModified, input: response };
    }
  }
  job.port.postMessage({ type: 'start', total: null });
  const zip = downloadZip(files(), { buffersAreUTF8: true });
  return new Response(zip.body && relay(zip.body, job), { headers: attachment(job.name, 'application/zip') });
}

function attachment(name: string, contentType: string): Headers {
  return new Headers({
    'Content-Type': contentType,
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    'Cache-Control': 'no-store',
  });
}

function report(job: DownloadJob, err: unknown): void {
  const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 0;
  job.port.postMessage({ type: 'error', status, detail: err instanceof Error ? err.message : String(err) });
}

/** The body passed on as the browser's download takes it, with the page told how far it got. */
function relay(source: ReadableStream<Uint8Array>, job: DownloadJob): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let loaded = 0;
  let reported = 0;
  let churnedAt = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            churn();
            controller.close();
            job.port.postMessage({ type: 'done', loaded });
            return;
          }
          loaded += value.byteLength;
          controller.enqueue(value);
          if (loaded - churnedAt > CHURN_EVERY) {
            churnedAt = loaded;
            churn();
          }
          if (Date.now() - reported >= PROGRESS_EVERY_MS) {
            reported = Date.now();
            job.port.postMessage({ type: 'progress', loaded });
          }
        } catch (err) {
          report(job, err);
          controller.error(err);
        }
      },
      cancel(reason) {
        job.port.postMessage({ type: 'cancelled', loaded });
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The chunks passed on are freed only when the worker's young generation is collected, and a stream of large
 * chunks allocates too few small objects to ever fill it: left alone, a 200 MiB download kept some 190 MiB of
 * passed-on chunks alive. Allocating a few MiB of short-lived objects every few MiB of data (a millisecond of
 * work) brings the collections, and the chunks' memory, back.
 */
const CHURN_EVERY = 4 * 1024 * 1024;
const sink: { last: unknown } = { last: null };
function churn(): void {
  for (let i = 0; i < 300_000; i += 1) sink.last = { i };
}
