/** The one core service layer every front end calls. */
import type { BlobStore } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { Accounts } from './accounts.ts';
import { Buckets } from './buckets.ts';
import { Identity } from './identity.ts';
import { Objects } from './objects.ts';
import type { ServerKeys } from './server-keys.ts';

export class Core {
  readonly identity: Identity;
  readonly accounts: Accounts;
  readonly buckets: Buckets;
  readonly objects: Objects;

  constructor(
    readonly meta: MetadataStore,
    readonly blobs: BlobStore,
    keys: ServerKeys,
    onBackgroundError: (err: unknown) => void,
  ) {
    this.identity = new Identity(meta, keys);
    this.accounts = new Accounts(meta);
    this.buckets = new Buckets(meta);
    this.objects = new Objects(meta, blobs, this.buckets, keys, onBackgroundError);
  }

  /** Resolves when the stores answer: a cheap metadata read, and the blob directory is there. */
  async ready(): Promise<void> {
    await Promise.all([this.meta.getProject(''), this.blobs.ping()]);
  }

  /** Removes leftovers of interrupted writes: temp files, and blobs no metadata points at. */
  async sweep(startedAt: number): Promise<{ temps: number; orphans: number }> {
    return this.blobs.sweep((blobId) => this.meta.isBlobReferenced(blobId), startedAt);
  }
}
