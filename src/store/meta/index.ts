/** The metadata store: transactions and ordered key scans. One contract suite runs against every implementation. */
import type { Role } from '../../core/constraints.ts';
import type { AccessKey, Bucket, Metadata, ObjectRecord, Project, RoleAssignment, User } from '../../core/types.ts';

export interface Bound {
  key: string;
  inclusive: boolean;
}

/** An ordered range of names in byte order; with `reverse` the scan runs from `upper` down to `lower`. */
export interface ScanRange {
  prefix: string;
  lower?: Bound | undefined;
  upper?: Bound | undefined;
  limit: number;
  reverse: boolean;
}

export interface AccountTotals {
  buckets: number;
  objects: number;
  bytes: number;
}

export interface BucketPatch {
  publicRead?: boolean;
  publicReadAllowIps?: string[];
  meta?: Metadata;
}

export interface ObjectPatch {
  contentType?: string;
  meta?: Metadata;
  headers?: Metadata;
  deleteAt?: number | null;
}

export interface PutCondition {
  /** Fail with `exists` when a live object already has the key (If-None-Match: *). */
  mustNotExist?: boolean;
}

export type PutResult = { ok: true; replaced: ObjectRecord | null } | { ok: false; reason: 'no-bucket' | 'exists' };

export interface MetadataStore {
  createProject(project: Project): Promise<void>;
  getProject(id: string): Promise<Project | null>;
  getProjectByName(name: string): Promise<Project | null>;
  listProjects(): Promise<Project[]>;
  updateProjectMeta(id: string, meta: Metadata): Promise<void>;
  deleteProject(id: string): Promise<boolean>;

  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | null>;
  getUserByName(name: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  deleteUser(id: string): Promise<boolean>;

  setRole(assignment: RoleAssignment): Promise<void>;
  getRole(projectId: string, userId: string): Promise<Role | null>;
  listRoles(filter: { projectId?: string; userId?: string }): Promise<RoleAssignment[]>;
  removeRole(projectId: string, userId: string): Promise<boolean>;

  createAccessKey(key: AccessKey): Promise<void>;
  getAccessKey(id: string): Promise<AccessKey | null>;
  getAccessKeyByName(userId: string, name: string): Promise<AccessKey | null>;
  listAccessKeys(filter: { projectId?: string; userId?: string }): Promise<AccessKey[]>;
  deleteAccessKey(id: string): Promise<boolean>;

  /** False when the name is taken (bucket names are unique across the server). */
  createBucket(bucket: Bucket): Promise<boolean>;
  getBucket(name: string): Promise<Bucket | null>;
  listBuckets(projectId: string, range: ScanRange): Promise<Bucket[]>;
  updateBucket(name: string, patch: BucketPatch): Promise<Bucket | null>;
  deleteBucket(name: string): Promise<'deleted' | 'not-empty' | 'missing'>;
  accountTotals(projectId: string): Promise<AccountTotals>;

  getObject(bucket: string, key: string): Promise<ObjectRecord | null>;
  /** Publishes the object and adjusts the bucket's totals in one durable transaction. */
  putObject(record: ObjectRecord, condition?: PutCondition): Promise<PutResult>;
  updateObject(bucket: string, key: string, patch: ObjectPatch): Promise<ObjectRecord | null>;
  /** Deletes the object (only if it has expired by `onlyIfExpiredBy`, when given) and returns what was deleted. */
  deleteObject(bucket: string, key: string, onlyIfExpiredBy?: number): Promise<ObjectRecord | null>;
  /** Objects whose X-Delete-At has passed, oldest first. */
  listExpired(now: number, limit: number): Promise<ObjectRecord[]>;
  scanObjects(bucket: string, range: ScanRange): Promise<ObjectRecord[]>;
  isBlobReferenced(blobId: string): Promise<boolean>;

  close(): Promise<void>;
}
