/** Uploads in the background of the session: a few at a time, each with its progress, cancellable; they go on while the user browses elsewhere. */
import { useEffect, useState } from 'preact/hooks';
import type { ObjectApi } from './api/objects.ts';

export type UploadState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface Upload {
  id: number;
  bucket: string;
  key: string;
  file: File;
  loaded: number;
  state: UploadState;
  error: unknown;
  cancel: () => void;
}

/** A file to upload and where it goes below the folder: its name, or `dir/sub/name` from a folder. */
export interface PickedFile {
  file: File;
  path: string;
}

const CONCURRENCY = 3;
export const MAX_FILES_AT_ONCE = 1000;

export class UploadQueue {
  readonly items: Upload[] = [];
  private running = 0;
  private nextId = 1;
  private readonly listeners = new Set<() => void>();
  private readonly uploadedListeners = new Set<(upload: Upload) => void>();
  private frame = 0;

  constructor(private readonly objects: ObjectApi) {}

  /** Queues each file under `folder`, at its path (its name, or its place inside a chosen or dropped folder). */
  add(bucket: string, folder: string, files: readonly PickedFile[]): void {
    for (const { file, path } of files) {
      const upload: Upload = { id: this.nextId++, bucket, key: folder + path, file, loaded: 0, state: 'queued', error: null, cancel: () => undefined };
      this.queue(upload);
      this.items.push(upload);
    }
    this.pump();
    this.changed();
  }

  /** Sends a failed (or cancelled) upload again, from its start. */
  retry(upload: Upload): void {
    if (upload.state !== 'failed' && upload.state !== 'cancelled') return;
    upload.loaded = 0;
    upload.error = null;
    this.queue(upload);
    this.pump();
    this.changed();
  }

  retryFailed(): void {
    for (const upload of this.items) if (upload.state === 'failed') this.retry(upload);
  }

  private queue(upload: Upload): void {
    upload.state = 'queued';
    upload.cancel = () => {
      if (upload.state === 'queued') upload.state = 'cancelled';
      this.changed();
    };
  }

  cancelAll(): void {
    for (const upload of this.items) upload.cancel();
  }

  clearFinished(): void {
    const active = this.items.filter((upload) => upload.state === 'queued' || upload.state === 'uploading');
    this.items.splice(0, this.items.length, ...active);
    this.changed();
  }

  /** Bytes sent and to send over every upload not cancelled. */
  total(): { loaded: number; size: number; done: number; count: number } {
    const counted = this.items.filter((upload) => upload.state !== 'cancelled');
    return {
      loaded: counted.reduce((sum, upload) => sum + upload.loaded, 0),
      size: counted.reduce((sum, upload) => sum + upload.file.size, 0),
      done: counted.filter((upload) => upload.state === 'done').length,
      count: counted.length,
    };
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `listener` hears of each upload that has completed. */
  onUploaded(listener: (upload: Upload) => void): () => void {
    this.uploadedListeners.add(listener);
    return () => this.uploadedListeners.delete(listener);
  }

  private pump(): void {
    for (const upload of this.items) {
      if (this.running >= CONCURRENCY) return;
      if (upload.state === 'queued') this.start(upload);
    }
  }

  private start(upload: Upload): void {
    this.running += 1;
    upload.state = 'uploading';
    const handle = this.objects.upload(upload.bucket, upload.key, upload.file, (loaded) => {
      upload.loaded = loaded;
      this.changedSoon();
    });
    upload.cancel = handle.cancel;
    handle.done
      .then(
        () => {
          upload.state = 'done';
          upload.loaded = upload.file.size;
          for (const listener of this.uploadedListeners) listener(upload);
        },
        (error: unknown) => {
          const cancelled = error instanceof DOMException && error.name === 'AbortError';
          upload.state = cancelled ? 'cancelled' : 'failed';
          upload.error = cancelled ? null : error;
        },
      )
      .finally(() => {
        upload.cancel = () => undefined;
        this.running -= 1;
        this.pump();
        this.changed();
      });
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Progress events come faster than screens refresh: redraw once per frame. */
  private changedSoon(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.changed();
    });
  }
}

/** Redraws the calling component whenever the queue (of uploads or downloads) changes. */
export function useUploadQueue<Q extends { subscribe: (listener: () => void) => () => void }>(queue: Q): Q {
  const [, setGeneration] = useState(0);
  useEffect(() => queue.subscribe(() => {
    setGeneration((n) => n + 1);
  }), [queue]);
  return queue;
}
