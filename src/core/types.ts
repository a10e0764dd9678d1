/** The plain values core hands to front ends. (What core stores is in model.ts.) */
import type { Role } from './constraints.ts';
import type { AccessContext, BucketAction } from './authz.ts';
import type { AccessKeyRow, AccountAccessLevel, AccountGrant, BucketRow, Retention } from './model.ts';

export type Metadata = Record<string, string>;

export type { EncryptionType } from './model.ts';

export interface Project {
  id: string;
  name: string;
  createdAt: number;
  meta: Metadata;
  accountGrants?: AccountGrant[];
}

export interface User {
  id: string;
  name: string;
  createdAt: number;
}

export interface RoleAssignment {
  projectId: string;
  userId: string;
  role: Role;
}

export interface AccessKey extends AccessKeyRow {
  id: string;
}

/** A bucket with its totals. */
export interface Bucket extends BucketRow {
  objectCount: number;
  bytes: number;
  /** When the bucket itself last changed (created, its settings or metadata), not its contents: Swift's put timestamp. */
  changedAt: number;
}

/** An object: its current version, as every protocol shows it. */
export interface ObjectRecord {
  bucket: string;
  key: string;
  versionId: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: number;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
  /** The version is a delete marker (listings of versions, a delete by version id). */
  deleteMarker?: boolean;
  /** Object Lock: the version's retention and legal hold (S3's x-amz-object-lock-* headers), when it has them. */
  retention?: Retention;
  legalHold?: boolean;
  /** How many tags the version has (S3's x-amz-tagging-count), when it has any. */
  tagCount?: number;
  /** The version is read through other objects: a static or dynamic manifest, or a symbolic link. */
  indirect?: Indirect;
  /** How many parts a completed multipart upload made the version of (absent: written whole). */
  parts?: number;
  /** The object a symbolic link led to, when the read followed one (the last link's target). */
  linkedTo?: { account: string; bucket: string; key: string };
  /** How its bytes are encrypted at rest: managed (the server's keys) or under a customer's key (SSE-C); absent: not. */
  encryption?: 'managed' | 'customer';
}

/** What a manifest or link version is, as front ends show it. */
export type Indirect =
  | { kind: 'static-manifest' }
  | { kind: 'dynamic-manifest'; bucket: string; prefix: string }
  | { kind: 'symlink'; account: string; bucket: string; key: string; etag: string | null };

/**
 * Who sends a request, as the authenticators of a front end found it; `context` carries the request's own facts
 * (its address, referrer) for the rules that look at them (see `authorize`).
 */
export type Caller =
  | {
      kind: 'user';
      userId: string;
      userName: string;
      projectId: string;
      role: Role;
      accessKeyId: string;
      /** The token came from an access key made `unrestricted` (it may make and delete access keys). */
      unrestrictedKey?: boolean;
      context?: AccessContext;
      /** What account grants give the caller in accounts of other projects (loaded for the accounts a request names). */
      accountAccess?: Readonly<Record<string, AccountAccessLevel>>;
    }
  | { kind: 'anonymous'; ip: string; context?: AccessContext; scope?: SignedScope };

/**
 * What a signed request (Swift's temp URL or FormPost) lets its bearer do, and nothing more: `actions` on one
 * object of one bucket, or on every object whose name starts with `prefix` there.
 */
export interface SignedScope {
  account: string;
  bucket: string;
  target: { key: string } | { prefix: string };
  actions: readonly BucketAction[];
}
