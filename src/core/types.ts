import type { Role } from './constraints.ts';

export type Metadata = Record<string, string>;

export interface Project {
  id: string;
  name: string;
  createdAt: number;
  meta: Metadata;
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

export interface AccessKey {
  id: string;
  name: string;
  userId: string;
  projectId: string;
  /** HMAC of the secret under the server key; the secret itself is never stored. */
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
}

export type EncryptionType = 'managed';

export interface Bucket {
  name: string;
  projectId: string;
  type: string;
  createdAt: number;
  updatedAt: number;
  objectCount: number;
  bytes: number;
  publicRead: boolean;
  publicReadAllowIps: string[];
  encryption: EncryptionType | null;
  meta: Metadata;
}

/** How an object's blob is encrypted at rest: a per-object data key, wrapped under the server key. */
export interface BlobEncryption {
  wrappedKey: string;
  iv: string;
}

export interface ObjectRecord {
  bucket: string;
  key: string;
  blobId: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: number;
  meta: Metadata;
  /** Content-Disposition, Content-Encoding and the like, stored as given. */
  headers: Metadata;
  deleteAt: number | null;
  encryption: BlobEncryption | null;
  /**
   * Small objects live in the metadata row itself (blobId is then empty); bigger ones in the blob store.
   * Null for those, and in listings, which do not carry the bytes.
   */
  inline: Buffer | null;
}

export type Caller =
  | { kind: 'user'; userId: string; userName: string; projectId: string; role: Role; accessKeyId: string }
  | { kind: 'anonymous'; ip: string };
