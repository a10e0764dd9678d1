/** Buckets (Swift containers): creation, lookup, listing, access control, metadata, totals, deletion. */
import { newId } from '../lib/ids.ts';
import type { Entry, MetadataStore, ReadOps, ScanRange, Table, Tx } from '../store/meta/index.ts';
import { allows, authorizeAccount, authorizeBucket, bucketRoleOf, checkAllowList, type BucketAction } from './authz.ts';
import { BUCKET_LIST_LIMIT, BUCKET_TYPES, checkUserMetadata, type NamingProfile, type Role } from './constraints.ts';
import { fail } from './errors.ts';
import { parseBucketPolicy, policyIsPublic, type PolicyPrincipal } from './bucket-policy.ts';
import { listEntries, type ListEntry, type ListOptions } from './listing.ts';
import { checkCorsRules, effectiveCorsRules, evaluateCors, type CorsRequest, type CorsRule } from './cors.ts';
import type { Directory } from './directory.ts';
import { addTotals, ALL, BUCKET_TABLES, expiryUpTo, isLive, TABLES, type ArchiveSetting, type BucketRole, type BucketRow, type Grant, type GrantPermission, type PolicyStatement, type TotalsRow, type VersioningState } from './model.ts';
import type { Bucket, Caller, EncryptionType, Metadata } from './types.ts';

export interface CreateBucketInput {
  name: string;
  type?: string | undefined;
  encryption?: EncryptionType | null | undefined;
  meta?: Metadata | undefined;
  /** S3's x-amz-bucket-object-lock-enabled: Object Lock from the start, and so versioning enabled. */
  objectLock?: boolean | undefined;
  /** Grants set with the bucket (needs PutBucketAcl on it, as its creator's role on it gives or not). */
  access?: readonly GrantChange[] | undefined;
}

export interface AccessControl {
  publicRead?: boolean | undefined;
  publicReadAllowIps?: string[] | undefined;
  /** Grant changes made in the same write, after the public flag (S3's ACLs replace every grant). */
  access?: readonly GrantChange[] | undefined;
}

/**
 * A change of who else may do what (Swift's container ACLs): every grant of one of `permissions` is replaced by
 * `grants`, and `publicRead`, when given, sets the public flag (Swift's `.r:*` is that flag).
 */
export interface GrantChange {
  permissions: readonly GrantPermission[];
  grants: readonly Grant[];
  publicRead?: boolean | undefined;
}

/** How long object operations trust a bucket record read earlier, on a store no other process writes. */
const BUCKET_CACHE_TTL_MS = 1000;
const NO_SUCH_BUCKET = 'The specified bucket does not exist';

export class Buckets {
  private readonly cache = new Map<string, { bucket: BucketRow | null; readAt: number }>();
  private readonly cacheTtlMs: number;
  private readonly owners = new Map<string, { owner: string | null; readAt: number }>();

  constructor(
    private readonly store: MetadataStore,
    readonly naming: NamingProfile,
    private readonly directory: Directory,
  ) {
    // Several nodes on one database: another node's change must be seen at once, so nothing is cached.
    this.cacheTtlMs = store.shared ? 0 : BUCKET_CACHE_TTL_MS;
  }

  /**
   * The bucket an object operation works in, authorized. Object requests are the hot path, so on a store of
   * its own this node keeps what it read for a second (its own changes are seen at once). Writes then commit
   * against the bucket's id (`requireBucket`), so a bucket deleted meanwhile never receives them.
   */
  async forObjects(caller: Caller, account: string, name: string, action: BucketAction, key?: string): Promise<BucketRow> {
    return authorizeBucket(caller, action, account, await this.lookup(account, name), key);
  }

  /**
   * The bucket row, for checks that come before there is a caller (the keys a signed URL is checked against);
   * no authorization: never hand it to a caller.
   */
  async row(account: string, name: string): Promise<BucketRow | null> {
    return this.lookup(account, name);
  }

  /**
   * The project a server-wide bucket name belongs to (null: no such bucket), for S3's addressing, which names a
   * bucket without its project. Cached like `lookup`; answers at once from the cache (no turn of the event loop).
   */
  ownerOf(name: string): string | null | Promise<string | null> {
    const cached = this.owners.get(name);
    if (cached && Date.now() - cached.readAt < this.cacheTtlMs) return cached.owner;
    return this.store.get(TABLES.globalBucketNames, ALL, name).then((row) => {
      const owner = row?.value.projectId ?? null;
      if (this.cacheTtlMs > 0) {
        if (this.owners.size > 10_000) this.owners.clear();
        this.owners.set(name, { owner, readAt: Date.now() });
      }
      return owner;
    });
  }

  /** The bucket row, possibly from this node's short cache (see forObjects); no authorization. */
  private async lookup(account: string, name: string): Promise<BucketRow | null> {
    const id = cacheId(account, name);
    const cached = this.cache.get(id);
    if (cached && Date.now() - cached.readAt < this.cacheTtlMs) return cached.bucket;
    const row = await this.store.get(TABLES.buckets, account, name);
    const bucket = row?.value ?? null;
    if (this.cacheTtlMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(id, { bucket, readAt: Date.now() });
    }
    return bucket;
  }

  /**
   * Inside a write: fails unless the bucket the caller was authorized for still exists as that same bucket;
   * returns it as it is now (its versioning state at commit, not as cached).
   */
  async requireBucket(tx: Tx, bucket: BucketRow): Promise<BucketRow> {
    const row = await tx.get(TABLES.buckets, bucket.projectId, bucket.name);
    if (row?.value.id !== bucket.id) fail('NoSuchBucket', NO_SUCH_BUCKET);
    return row.value;
  }

  async create(caller: Caller, account: string, input: CreateBucketInput): Promise<Bucket> {
    authorizeAccount(caller, 'CreateBucket', account);
    this.naming.checkBucketName(input.name);
    const type = (input.type ?? 'STANDARD').toUpperCase();
    if (!BUCKET_TYPES.has(type)) fail('InvalidArgument', `Unsupported bucket type: ${input.type ?? ''}`);
    const meta = input.meta ?? {};
    checkUserMetadata(meta);
    const now = Date.now();
    const row: BucketRow = {
      id: newId(),
      name: input.name,
      projectId: account,
      type,
      createdAt: now,
      updatedAt: now,
      publicRead: false,
      publicReadAllowIps: [],
      encryption: input.encryption ?? null,
      meta,
      ...(input.objectLock ? { versioning: 'enabled', objectLock: { enabled: true } } : {}),
    };
    if (input.access?.length) {
      authorizeBucket(caller, 'PutBucketAcl', account, row);
      Object.assign(row, withGrantChanges(row, input.access));
    }
    await this.store.transact(async (tx) => {
      const taken = `Bucket ${input.name} already exists`;
      if (await tx.get(TABLES.buckets, account, row.name)) fail('BucketAlreadyExists', taken);
      if (this.naming.serverWideNames) {
        if (await tx.get(TABLES.globalBucketNames, ALL, row.name)) fail('BucketAlreadyExists', taken);
        tx.put(TABLES.globalBucketNames, ALL, row.name, { projectId: account, bucketId: row.id });
      }
      tx.put(TABLES.buckets, account, row.name, row);
      tx.put(TABLES.bucketTotals, row.id, '', { objects: 0, bytes: 0, at: now });
    });
    this.cache.delete(cacheId(account, row.name));
    this.owners.delete(row.name);
    return { ...row, objectCount: 0, bytes: 0, changedAt: row.updatedAt };
  }

  /** Swift's container PUT: creates the bucket, or updates its metadata when the caller already owns it. */
  async createOrUpdate(caller: Caller, account: string, name: string, meta: Metadata, access: readonly GrantChange[] = []): Promise<{ bucket: Bucket; created: boolean }> {
    authorizeAccount(caller, 'ListBuckets', account);
    if (await this.store.get(TABLES.buckets, account, name)) {
      const bucket = await this.updateMetadata(caller, account, name, meta, [], access);
      return { bucket, created: false };
    }
    return { bucket: await this.create(caller, account, { name, meta, access }), created: true };
  }

  async get(caller: Caller, account: string, name: string, action: BucketAction = 'HeadBucket'): Promise<Bucket> {
    return this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, account, name);
      const bucket = authorizeBucket(caller, action, account, row?.value ?? null);
      return withTotals(bucket, await readTotals(tx, bucket.id));
    });
  }

  async list(caller: Caller, account: string, options: ListOptions): Promise<ListEntry<Bucket>[]> {
    authorizeAccount(caller, 'ListBuckets', account);
    const entries = await listEntries(
      // Only the buckets the caller may read: a bucket whose role was taken from them is not theirs to see.
      { scan: (range) => readableScan(this.store, caller, account, range) },
      (row) => row.sk,
      { ...options, limit: Math.min(options.limit, BUCKET_LIST_LIMIT * 10) },
    );
    return Promise.all(
      entries.map(async (entry): Promise<ListEntry<Bucket>> => {
        if (entry.kind === 'prefix') return entry;
        return { kind: 'item', item: withTotals(entry.item.value, await readTotals(this.store, entry.item.value.id)) };
      }),
    );
  }

  async totals(caller: Caller, account: string): Promise<{ buckets: number; objects: number; bytes: number }> {
    authorizeAccount(caller, 'ListBuckets', account);
    return this.usageOfAccount(account);
  }

  /** What a bucket holds now (no authorization: for checks such as quotas, on a bucket already authorized). */
  async usage(bucket: BucketRow): Promise<TotalsRow> {
    return readTotals(this.store, bucket.id);
  }

  /** What an account's buckets hold now (no authorization; see `usage`). */
  async usageOfAccount(account: string): Promise<{ buckets: number; objects: number; bytes: number }> {
    const rows = await this.store.scan(TABLES.buckets, account, { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false });
    const totals = await Promise.all(rows.map((row) => readTotals(this.store, row.value.id)));
    return {
      buckets: rows.length,
      objects: totals.reduce((sum, t) => sum + t.objects, 0),
      bytes: totals.reduce((sum, t) => sum + t.bytes, 0),
    };
  }

  async setAccessControl(caller: Caller, account: string, name: string, acl: AccessControl): Promise<Bucket> {
    if (acl.publicReadAllowIps) checkAllowList(acl.publicReadAllowIps);
    return this.change(caller, account, name, 'PutBucketAcl', (row) => {
      const publicRead = acl.publicRead ?? row.publicRead;
      // Listings open to every referrer (Swift's `.r:*,.rlistings`) go with the public flag.
      const grants = publicRead ? row.grants : row.grants?.filter((g) => !(g.permission === 'list' && g.grantee.kind === 'referrer' && g.grantee.host === '*'));
      const next = withGrants({ ...row, publicRead, publicReadAllowIps: acl.publicReadAllowIps?.map((ip) => ip.trim()) ?? row.publicReadAllowIps }, grants ?? []);
      return withGrantChanges(next, acl.access ?? []);
    });
  }

  /**
   * Sets the given metadata items and removes the named ones (Swift's X-Container-Meta-* / X-Remove-…), and
   * changes grants (which needs PutBucketAcl too), in one write.
   */
  async updateMetadata(caller: Caller, account: string, name: string, set: Metadata, remove: readonly string[], access: readonly GrantChange[] = []): Promise<Bucket> {
    return this.change(caller, account, name, 'PutBucketMetadata', (row) => {
      const meta = { ...row.meta, ...set };
      for (const key of remove) Reflect.deleteProperty(meta, key);
      for (const [key, value] of Object.entries(set)) if (value === '') Reflect.deleteProperty(meta, key);
      checkUserMetadata(meta);
      if (access.length > 0) authorizeBucket(caller, 'PutBucketAcl', account, row);
      return withGrantChanges({ ...row, meta }, access);
    });
  }

  /**
   * Sets one metadata item unless the bucket has it already, and returns the value in place: a value made once
   * (a temp URL signing key), whoever asks for it first.
   */
  async setMetadataIfAbsent(caller: Caller, account: string, name: string, item: string, value: string): Promise<string> {
    let kept = value;
    await this.change(caller, account, name, 'PutBucketMetadata', (row) => {
      const existing = row.meta[item];
      if (existing) {
        kept = existing;
        return row;
      }
      kept = value;
      const meta = { ...row.meta, [item]: value };
      checkUserMetadata(meta);
      return { ...row, meta };
    });
    return kept;
  }

  /** Changes a bucket setting kept in rows of its own as well as in the bucket row, in one transaction. */
  async configure(caller: Caller, account: string, name: string, update: (tx: Tx, bucket: BucketRow) => Promise<BucketRow>, action: BucketAction = 'PutBucketConfig'): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, account, name);
      const current = authorizeBucket(caller, action, account, row?.value ?? null);
      tx.put(TABLES.buckets, account, name, { ...(await update(tx, current)), updatedAt: Date.now() });
    });
    this.cache.delete(cacheId(account, name));
  }

  // --- versioning -------------------------------------------------------------------------------

  /** S3's PutBucketVersioning: once enabled, a bucket can be suspended, never made unversioned again. */
  async setVersioning(caller: Caller, account: string, name: string, state: VersioningState): Promise<void> {
    await this.configure(caller, account, name, async (tx, row) => {
      // Lifecycle rules must know where the bucket is, to see its versioning state when they expire objects.
      const lifecycle = await tx.get(TABLES.lifecycle, ALL, row.id);
      if (lifecycle) tx.put(TABLES.lifecycle, ALL, row.id, { ...lifecycle.value, bucket: { projectId: row.projectId, name: row.name } });
      if (row.objectLock && state !== 'enabled') fail('InvalidBucketState', 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.');
      return row.versioning === undefined && state === 'suspended' ? row : { ...row, versioning: state };
    }, 'PutBucketVersioning');
  }

  /** Swift's legacy versioned writes: where the current version of a key is copied before it changes (null: nowhere). */
  async setArchive(caller: Caller, account: string, name: string, archive: ArchiveSetting | null): Promise<void> {
    await this.configure(caller, account, name, (_tx, row) => {
      const next = { ...row };
      if (archive) next.archive = archive;
      else delete next.archive;
      return Promise.resolve(next);
    });
  }

  // --- policy -----------------------------------------------------------------------------------

  /** Replaces the bucket's policy; an empty one removes it. */
  async setPolicy(caller: Caller, account: string, name: string, policy: PolicyStatement[], document?: string): Promise<void> {
    await this.change(caller, account, name, policy.length === 0 ? 'DeleteBucketPolicy' : 'PutBucketPolicy', (row) => {
      const next: BucketRow = { ...row, policy };
      Reflect.deleteProperty(next, 'policyDocument');
      if (policy.length === 0) Reflect.deleteProperty(next, 'policy');
      else if (document !== undefined) next.policyDocument = document;
      return next;
    });
  }

  /**
   * S3's PutBucketPolicy: the document (see bucket-policy.ts) is kept as written beside its statements. The
   * projects and users it names must exist (a user with a role in the project named with them).
   */
  async putPolicy(caller: Caller, account: string, name: string, document: string): Promise<void> {
    await this.forObjects(caller, account, name, 'PutBucketPolicy');
    const { statements, principals } = parseBucketPolicy(document, name);
    for (const principal of principals) await this.checkPrincipal(principal);
    await this.setPolicy(caller, account, name, statements, document);
  }

  private async checkPrincipal(principal: PolicyPrincipal): Promise<void> {
    const known =
      principal.kind === 'project'
        ? (await this.directory.getProject(principal.projectId)) !== null
        : (await this.directory.getRole(principal.projectId, principal.userId)) !== null;
    if (!known) fail('MalformedPolicy', `Invalid principal in policy: no ${principal.kind === 'project' ? `project ${principal.projectId}` : `user ${principal.userId} in project ${principal.projectId}`}`);
  }

  /** The policy document as its author wrote it (NoSuchConfiguration: none). */
  async getPolicy(caller: Caller, account: string, name: string): Promise<string> {
    const bucket = await this.forObjects(caller, account, name, 'GetBucketPolicy');
    if (!bucket.policy?.length) fail('NoSuchConfiguration', 'The bucket policy does not exist', { kind: 'policy' });
    return bucket.policyDocument ?? JSON.stringify({ Statement: bucket.policy });
  }

  /** S3's GetBucketPolicyStatus: whether the policy lets the public in (see policyIsPublic); NoSuchConfiguration without one. */
  async policyStatus(caller: Caller, account: string, name: string): Promise<{ isPublic: boolean }> {
    const bucket = await this.forObjects(caller, account, name, 'GetBucketPolicyStatus');
    if (!bucket.policy?.length) fail('NoSuchConfiguration', 'The bucket policy does not exist', { kind: 'policy' });
    return { isPublic: policyIsPublic(bucket.policy) };
  }

  // --- CORS -------------------------------------------------------------------------------------

  async getCors(caller: Caller, account: string, name: string): Promise<CorsRule[]> {
    const bucket = await this.forObjects(caller, account, name, 'GetBucketCORS');
    if (!bucket.cors?.length) fail('NoSuchConfiguration', 'The bucket has no CORS configuration', { kind: 'cors' });
    return bucket.cors;
  }

  /** Replaces the bucket's CORS rules; an empty list removes them. */
  async setCors(caller: Caller, account: string, name: string, rules: CorsRule[]): Promise<CorsRule[]> {
    checkCorsRules(rules);
    await this.change(caller, account, name, 'PutBucketCORS', (row) => {
      const next: BucketRow = { ...row, cors: rules };
      if (rules.length === 0) Reflect.deleteProperty(next, 'cors');
      return next;
    });
    return rules;
  }

  /**
   * The CORS headers for a browser's request to the bucket's objects, or null when refused. Asked before any
   * authentication (a preflight carries none), so a missing bucket and a bucket without a matching rule answer alike.
   */
  async cors(account: string, name: string, request: CorsRequest, preflight: boolean): Promise<Record<string, string> | null> {
    const bucket = await this.lookup(account, name);
    if (!bucket) return null;
    const rules = effectiveCorsRules(bucket.cors, bucket.meta);
    return rules.length > 0 ? evaluateCors(rules, request, preflight) : null;
  }

  // --- encryption ---------------------------------------------------------------------------------

  /**
   * Turns managed encryption (`/v1_ext`'s use_encryption, S3's SSE-S3 default) on or off for the versions written
   * from now on; each stored version keeps the encryption it was written with, and reads follow it.
   */
  async setEncryption(caller: Caller, account: string, name: string, encryption: EncryptionType | null): Promise<void> {
    await this.change(caller, account, name, 'PutEncryptionConfiguration', (row) => ({ ...row, encryption }));
  }

  // --- bucket roles -----------------------------------------------------------------------------

  /** Who holds which role on the bucket: every project member, by assignment on the bucket or by default. */
  async permissions(caller: Caller, account: string, name: string): Promise<BucketPermission[]> {
    const bucket = await this.forObjects(caller, account, name, 'GetBucketAcl');
    return permissionsFor(caller, bucket, await this.members(account));
  }

  /** The project's members, for `permissionsOf` (read once for many buckets). */
  async members(account: string): Promise<ProjectMember[]> {
    const assignments = await this.directory.listRoles({ projectId: account });
    const users = await Promise.all(assignments.map((a) => this.directory.getUser(a.userId)));
    return assignments.map((a, i) => ({ userId: a.userId, userName: users[i]?.name ?? '', projectRole: a.role }));
  }

  /** Assigns `role` to a project member on this bucket (null: takes their role on it away). */
  async assignRole(caller: Caller, account: string, name: string, userId: string, role: BucketRole | null): Promise<BucketPermission[]> {
    const bucket = await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, account, name);
      const current = authorizeBucket(caller, 'PutBucketRoles', account, row?.value ?? null);
      const members = await this.membersIn(tx, account);
      const member = members.find((m) => m.userId === userId);
      if (!member) fail('NoSuchUser', `User ${userId} is not a member of this project`);
      if (role === null && bucketRoleOf(current, userId, member.projectRole) === null) fail('NoSuchUser', `User ${userId} has no role on this bucket`);
      const changed: BucketRow = { ...current, roles: { ...current.roles, [userId]: role }, updatedAt: Date.now() };
      if (!permissionsOf(changed, members).some((p) => p.role === 'Storage Admin')) {
        fail('InvalidBucketState', 'A bucket keeps at least one Storage Admin; assign another one first');
      }
      tx.put(TABLES.buckets, account, name, changed);
      return changed;
    });
    this.cache.delete(cacheId(account, name));
    return permissionsOf(bucket, await this.members(account));
  }

  private async membersIn(tx: Tx, account: string): Promise<ProjectMember[]> {
    const rows = await tx.scan(TABLES.roles, ALL, { prefix: `${account}/`, limit: Number.MAX_SAFE_INTEGER, reverse: false });
    return rows.map((row) => ({ userId: row.sk.slice(account.length + 1), userName: '', projectRole: row.value.role }));
  }

  /** Deletes an empty bucket, with its name and totals. */
  async delete(caller: Caller, account: string, name: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, account, name);
      await this.removeEmpty(tx, authorizeBucket(caller, 'DeleteBucket', account, row?.value ?? null));
    });
    this.cache.delete(cacheId(account, name));
    this.owners.delete(name);
  }

  /** Deletes the bucket if it is still that same bucket and empty (a finished "empty bucket"); false otherwise. */
  async deleteEmptied(bucket: BucketRow): Promise<boolean> {
    const deleted = await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, bucket.projectId, bucket.name);
      if (row?.value.id !== bucket.id) return false;
      await this.removeEmpty(tx, row.value);
      return true;
    });
    this.cache.delete(cacheId(bucket.projectId, bucket.name));
    this.owners.delete(bucket.name);
    return deleted;
  }

  private async removeEmpty(tx: Tx, bucket: BucketRow): Promise<void> {
    const content: readonly Table<unknown>[] = BUCKET_TABLES.content;
    for (const table of content) {
      const anyRow = await tx.scan(table, bucket.id, { prefix: '', limit: 1, reverse: false });
      if (anyRow.length > 0) fail('BucketNotEmpty', 'There was a conflict when trying to complete your request: the bucket is not empty');
    }
    const bookkeeping: readonly Table<unknown>[] = BUCKET_TABLES.bookkeeping;
    for (const table of bookkeeping) {
      for (const row of await tx.scan(table, bucket.id, { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false })) tx.delete(table, bucket.id, row.sk);
    }
    const { projectId: account, name } = bucket;
    tx.delete(TABLES.buckets, account, name);
    const global = await tx.get(TABLES.globalBucketNames, ALL, name);
    if (global?.value.bucketId === bucket.id) tx.delete(TABLES.globalBucketNames, ALL, name);
    tx.delete(TABLES.lifecycle, ALL, bucket.id);
    tx.delete(TABLES.emptying, ALL, bucket.id);
    const logging = await tx.get(TABLES.bucketLogging, ALL, `${account}/${name}`);
    if (logging?.value.bucketId === bucket.id) tx.delete(TABLES.bucketLogging, ALL, `${account}/${name}`);
    for (const delta of await scanDeltas(tx, bucket.id)) tx.delete(TABLES.totalDeltas, ALL, delta.sk);
  }

  private async change(caller: Caller, account: string, name: string, action: BucketAction, next: (row: BucketRow) => BucketRow): Promise<Bucket> {
    const bucket = await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.buckets, account, name);
      const current = authorizeBucket(caller, action, account, row?.value ?? null);
      const changed = { ...next(current), updatedAt: Date.now() };
      tx.put(TABLES.buckets, account, name, changed);
      return withTotals(changed, await readTotals(tx, current.id));
    });
    this.cache.delete(cacheId(account, name));
    return bucket;
  }
}

export interface ProjectMember {
  userId: string;
  userName: string;
  projectRole: Role;
}

export interface BucketPermission {
  userId: string;
  userName: string;
  role: BucketRole;
  /** 'bucket': assigned on this bucket; 'project': the default of the user's project role. */
  from: 'bucket' | 'project';
}

/**
 * What the caller may see of the bucket's roles: every member's to one who may manage them (a Storage Admin),
 * only their own to anyone else.
 */
export function permissionsFor(caller: Caller, bucket: BucketRow, members: readonly ProjectMember[]): BucketPermission[] {
  const all = permissionsOf(bucket, members);
  if (allows(caller, 'PutBucketRoles', bucket)) return all;
  return all.filter((p) => caller.kind === 'user' && p.userId === caller.userId);
}

/**
 * A page of the project's buckets that the caller may read: pages of the table are read until `range.limit` of
 * them are found or the table ends (a short page tells the listing the end is reached).
 */
async function readableScan(store: MetadataStore, caller: Caller, account: string, range: ScanRange): Promise<Entry<BucketRow>[]> {
  const out: Entry<BucketRow>[] = [];
  let next = range;
  for (;;) {
    const rows = await store.scan(TABLES.buckets, account, next);
    for (const row of rows) if (allows(caller, 'HeadBucket', row.value)) out.push(row);
    const last = rows[rows.length - 1];
    if (rows.length < next.limit || out.length >= range.limit || last === undefined) return out.slice(0, range.limit);
    const bound = { key: last.sk, inclusive: false };
    next = range.reverse ? { ...next, upper: bound } : { ...next, lower: bound };
  }
}

/** Every member's role on the bucket (members whose role on it was taken away are left out). */
export function permissionsOf(bucket: BucketRow, members: readonly ProjectMember[]): BucketPermission[] {
  return members.flatMap((m): BucketPermission[] => {
    const role = bucketRoleOf(bucket, m.userId, m.projectRole);
    if (role === null) return [];
    return [{ userId: m.userId, userName: m.userName, role, from: bucket.roles?.[m.userId] === undefined ? 'project' : 'bucket' }];
  });
}

/** Records a write's effect on a bucket's totals as a row of its own, so concurrent writes never contend on one row. */
export function addToTotals(tx: Tx, bucketId: string, objects: number, bytes: number): void {
  const delta = { objects, bytes, at: Date.now() };
  if (tx.merge) tx.merge(TABLES.bucketTotals, bucketId, '', delta);
  else tx.put(TABLES.totalDeltas, ALL, `${bucketId}/${delta.at.toString(36)}${newId().slice(0, 12)}`, delta);
}

/** The bucket's folded totals plus the deltas not folded yet, less the objects expired but not reaped yet. */
export async function readTotals(ops: ReadOps, bucketId: string): Promise<TotalsRow> {
  const base = await ops.get(TABLES.bucketTotals, bucketId, '');
  let totals: TotalsRow = base?.value ?? { objects: 0, bytes: 0, at: 0 };
  for (const delta of await scanDeltas(ops, bucketId)) totals = addTotals(totals, delta.value);
  return withoutExpired(ops, bucketId, totals);
}

/** How many due expiries a read of totals looks at; the reaper keeps the backlog far below it. */
const DUE_EXPIRIES_READ = 10_000;

/**
 * Totals as a listing shows them: an object past its X-Delete-At is gone from listings at once, and so from the
 * counts, though the reaper removes it (and its totals delta) only on its next pass.
 */
async function withoutExpired(ops: ReadOps, bucketId: string, totals: TotalsRow): Promise<TotalsRow> {
  const now = Date.now();
  const due = await ops.scan(TABLES.expiry, ALL, { prefix: '', upper: { key: expiryUpTo(now), inclusive: false }, limit: DUE_EXPIRIES_READ, reverse: false });
  let { objects, bytes } = totals;
  for (const { value } of due) {
    if (value.bucketId !== bucketId) continue;
    const current = (await ops.get(TABLES.objects, bucketId, value.key))?.value;
    if (current?.id !== value.versionId || isLive(current, now)) continue;
    objects--;
    bytes -= current.size;
  }
  return objects === totals.objects ? totals : { ...totals, objects, bytes };
}

/**
 * Folds pending deltas into their buckets' base rows; returns how many it folded. Run by one node at a time
 * (a background job); a bucket deleted meanwhile just loses its deltas.
 */
export async function foldTotals(store: MetadataStore, batch = 1000): Promise<number> {
  return store.transact(async (tx) => {
    const deltas = await tx.scan(TABLES.totalDeltas, ALL, { prefix: '', limit: batch, reverse: false });
    const sums = new Map<string, TotalsRow>();
    for (const delta of deltas) {
      const bucketId = delta.sk.slice(0, delta.sk.indexOf('/'));
      const sum = sums.get(bucketId);
      sums.set(bucketId, sum ? addTotals(sum, delta.value) : delta.value);
      tx.delete(TABLES.totalDeltas, ALL, delta.sk);
    }
    for (const [bucketId, sum] of sums) {
      const base = await tx.get(TABLES.bucketTotals, bucketId, '');
      if (base) tx.put(TABLES.bucketTotals, bucketId, '', addTotals(base.value, sum));
    }
    return deltas.length;
  });
}

function scanDeltas(ops: ReadOps, bucketId: string): Promise<Entry<TotalsRow>[]> {
  return ops.scan(TABLES.totalDeltas, ALL, { prefix: `${bucketId}/`, limit: Number.MAX_SAFE_INTEGER, reverse: false });
}

/** The row with its grants changed as `changes` say. */
export function withGrantChanges(row: BucketRow, changes: readonly GrantChange[]): BucketRow {
  let next = row;
  for (const change of changes) {
    const kept = (next.grants ?? []).filter((g) => !change.permissions.includes(g.permission));
    next = withGrants({ ...next, publicRead: change.publicRead ?? next.publicRead }, [...kept, ...change.grants]);
  }
  return next;
}

function withGrants(row: BucketRow, grants: readonly Grant[]): BucketRow {
  const next: BucketRow = { ...row, grants: [...grants] };
  if (grants.length === 0) Reflect.deleteProperty(next, 'grants');
  return next;
}

function withTotals(row: BucketRow, totals: TotalsRow): Bucket {
  return { ...row, updatedAt: Math.max(row.updatedAt, totals.at), changedAt: row.updatedAt, objectCount: totals.objects, bytes: totals.bytes };
}

function cacheId(account: string, name: string): string {
  return `${account}/${name}`;
}
