/**
 * Downloads through the browser's own download, streamed by the console's service worker (src/sw.ts): the object
 * never sits in the tab's memory, and its progress shows here. Without service workers (an old browser, a
 * private window that forbids them) the object is read into the tab and saved from there, as before.
 */
import { authHeaders, failure } from './api/http.ts';
import type { ObjectApi } from './api/objects.ts';
import type { ZipEntry } from './sw.ts';

export type DownloadState = 'starting' | 'downloading' | 'done' | 'failed';

export interface Download {
  id: string;
  bucket: string;
  key: string;
  name: string;
  loaded: number;
  /** Bytes to come (null until the server says). */
  total: number | null;
  state: DownloadState;
  error: unknown;
}

/** An object (or folder marker) of a ZIP download and its path in the archive. */
export interface ZipFile {
  key: string;
  path: string;
  lastModified: number;
  folder: boolean;
}

const WORKER_URL = '/console/sw.js';
const WORKER_SCOPE = '/console/download/';
const START_TIMEOUT_MS = 30_000;

export class DownloadQueue {
  readonly items: Download[] = [];
  private readonly listeners = new Set<() => void>();
  private worker: Promise<ServiceWorker | null> | null = null;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly objects: ObjectApi) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clearFinished(): void {
    const active = this.items.filter((item) => item.state === 'starting' || item.state === 'downloading');
    this.items.splice(0, this.items.length, ...active);
    this.changed();
  }

  /** Downloads the object (one of its versions, given its id). */
  async start(bucket: string, key: string, name: string, saveInTab: (blob: Blob) => void, versionId?: string): Promise<void> {
    const item = this.added(bucket, key, name);
    const worker = await this.serviceWorker();
    if (worker) this.throughWorker(worker, item, { type: 'download', url: this.objects.objectPath(bucket, key, versionId) });
    else {
      await this.inTab(item, async () => {
        saveInTab(await this.objects.download(bucket, key, versionId));
      });
    }
  }

  /**
   * Several objects as one ZIP file named `name`, each at its `path` (folders end in a slash). Without the worker
   * they are saved one by one, each read into the tab.
   */
  async startZip(bucket: string, name: string, entries: readonly ZipFile[], saveInTab: (blob: Blob, name: string) => void): Promise<void> {
    const item = this.added(bucket, name, name);
    const worker = await this.serviceWorker();
    const zipEntries: ZipEntry[] = entries.map((entry) => ({ url: entry.folder ? null : this.objects.objectPath(bucket, entry.key), path: entry.path, lastModified: entry.lastModified }));
    if (worker) {
      this.throughWorker(worker, item, { type: 'zip', entries: zipEntries });
      return;
    }
    await this.inTab(item, async () => {
      for (const entry of entries) if (!entry.folder) saveInTab(await this.objects.download(bucket, entry.key), entry.path);
    });
  }

  private added(bucket: string, key: string, name: string): Download {
    const item: Download = { id: crypto.randomUUID(), bucket, key, name, loaded: 0, total: null, state: 'starting', error: null };
    this.items.push(item);
    this.changed();
    return item;
  }

  private async inTab(item: Download, save: () => Promise<void>): Promise<void> {
    try {
      await save();
      item.state = 'done';
    } catch (err) {
      item.state = 'failed';
      item.error = err;
    }
    this.changed();
  }

  private throughWorker(worker: ServiceWorker, item: Download, job: { type: 'download'; url: string } | { type: 'zip'; entries: ZipEntry[] }): void {
    const channel = new MessageChannel();
    const frame = document.createElement('iframe');
    frame.hidden = true;
    frame.title = item.name;
    const finish = (state: 'done' | 'failed', error: unknown = null): void => {
      item.state = state;
      item.error = error;
      channel.port1.close();
      setTimeout(() => {
        frame.remove();
      }, 1000);
      this.changed();
      this.stopKeepAliveWhenIdle();
    };
    channel.port1.onmessage = (event: MessageEvent<{ type: string; total?: number | null; loaded?: number; status?: number; detail?: string }>) => {
      const message = event.data;
      if (message.type === 'ready') {
        frame.src = `${WORKER_SCOPE}${item.id}`;
        document.body.append(frame);
        // The worker may have been stopped between the message and the frame's request: then nothing comes back.
        setTimeout(() => {
          if (item.state === 'starting') finish('failed', failure(0, 'The download did not start.'));
        }, START_TIMEOUT_MS);
      } else if (message.type === 'start') {
        item.state = 'downloading';
        item.total = message.total ?? null;
        this.changed();
      } else if (message.type === 'progress') {
        item.loaded = message.loaded ?? item.loaded;
        this.changed();
      } else if (message.type === 'done') {
        item.loaded = message.loaded ?? item.loaded;
        finish('done');
      } else if (message.type === 'error') {
        finish('failed', failure(message.status ?? 0, message.detail ?? ''));
      } else if (message.type === 'cancelled') {
        finish('failed', new DOMException('Download cancelled', 'AbortError'));
      }
    };
    const token = authHeaders()['X-Auth-Token'] ?? '';
    worker.postMessage({ ...job, id: item.id, token, name: item.name }, [channel.port2]);
    // A service worker left without events is stopped by the browser: a message now and then keeps it streaming.
    this.keepAlive ??= setInterval(() => {
      worker.postMessage({ type: 'keep-alive' });
    }, 20_000);
  }

  /** The download worker, registered on the first download (so the console's first load stays as small as it is). */
  private serviceWorker(): Promise<ServiceWorker | null> {
    this.worker ??= (async () => {
      if (!('serviceWorker' in navigator)) return null;
      try {
        const registration = await navigator.serviceWorker.register(WORKER_URL, { scope: WORKER_SCOPE });
        const worker = registration.active ?? registration.waiting ?? registration.installing;
        if (!worker) return null;
        if (worker.state !== 'activated') {
          await new Promise<void>((resolve) => {
            worker.addEventListener('statechange', () => {
              if (worker.state === 'activated' || worker.state === 'redundant') resolve();
            });
          });
        }
        return registration.active;
      } catch {
        return null;
      }
    })();
    return this.worker;
  }

  private stopKeepAliveWhenIdle(): void {
    if (this.items.some((item) => item.state === 'starting' || item.state === 'downloading')) return;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
