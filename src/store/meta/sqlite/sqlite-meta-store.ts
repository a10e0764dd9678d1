/** SQLite metadata (better-sqlite3, WAL): a write resolves once its commit is on disk (see WalSync). */
import Database from 'better-sqlite3';
import type { Role } from '../../../core/constraints.ts';
import type { AccessKey, BlobEncryption, Bucket, Metadata, ObjectRecord, Project, RoleAssignment, User } from '../../../core/types.ts';
import type { AccountTotals, BucketPatch, MetadataStore, ObjectPatch, PutCondition, PutResult, ScanRange } from '../index.ts';
import { prefixUpperBound } from '../../../lib/key-order.ts';
import { GroupCommitter } from './group-commit.ts';
import { WalSync } from './wal-sync.ts';
import { migrate } from './schema.ts';

type Row = Record<string, unknown>;

/** Object columns a listing needs (everything but the inline bytes). */
/**
 * Object rows are read as arrays (better-sqlite3's raw mode: no per-row object keyed by column name), in this
 * column order; `objectFrom` maps them. The 13th column, the inline bytes, is only selected by point reads.
 */
const OBJECT_COLUMNS = 'o.bucket, o.key, o.blob_id, o.size, o.etag, o.content_type, o.last_modified, o.meta, o.headers, o.delete_at, o.encryption, o.inline_id';
const INLINE_ID = 11;
const OBJECT_WITH_DATA = `SELECT ${OBJECT_COLUMNS}, d.data FROM objects o LEFT JOIN inline_data d ON d.id = o.inline_id WHERE o.bucket = ? AND o.key = ?`;
const OBJECT_BY_KEY = `SELECT ${OBJECT_COLUMNS} FROM objects o WHERE o.bucket = ? AND o.key = ?`;

/** Bounds of the recently-read object cache (records, and the inline bytes they carry). */
const HOT_MAX_ENTRIES = 2_000;
const HOT_MAX_BYTES = 2 * 1024 * 1024;

export class SqliteMetaStore implements MetadataStore {
  private readonly db: Database.Database;
  /**
   * Recently read objects, so that hot small objects skip SQLite. Sound because this process is the only
   * writer of its data directory (data-dir lock), and every object write drops its key inside the group-commit
   * flush, which runs synchronously: no read can slip between that write and its commit.
   */
  private readonly hot = new Map<string, ObjectRecord>();
  private hotBytes = 0;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly rawStatements = new Map<string, Database.Statement>();
  private readonly committer: GroupCommitter;
  private readonly wal: WalSync;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: commits do not sync the WAL themselves; WalSync does, off the event loop, before any acknowledgement.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // 4 MiB of page cache: the hot part of the object index; the OS caches the rest without counting against us.
    this.db.pragma('cache_size = -4000');
    migrate(this.db);
    this.wal = new WalSync(`${path}-wal`);
    this.committer = new GroupCommitter(this.db, this.wal);
  }

  /** Runs a write outside group commit (rare: projects, keys, buckets) and waits until it is on disk. */
  private async durably<T>(write: () => T): Promise<T> {
    const result = write();
    await this.wal.request();
    return result;
  }

  // --- projects -------------------------------------------------------------------------------

  async createProject(p: Project): Promise<void> {
    await this.durably(() => this.run('INSERT INTO projects (id, name, created_at, meta) VALUES (?, ?, ?, ?)', p.id, p.name, p.createdAt, JSON.stringify(p.meta)));
  }
  async getProject(id: string): Promise<Project | null> {
    return mapOne(this.get('SELECT * FROM projects WHERE id = ?', id), toProject);
  }
  async getProjectByName(name: string): Promise<Project | null> {
    return mapOne(this.get('SELECT * FROM projects WHERE name = ?', name), toProject);
  }
  async listProjects(): Promise<Project[]> {
    return this.all('SELECT * FROM projects ORDER BY name').map(toProject);
  }
  async updateProjectMeta(id: string, meta: Metadata): Promise<void> {
    await this.durably(() => this.run('UPDATE projects SET meta = ? WHERE id = ?', JSON.stringify(meta), id));
  }
  async deleteProject(id: string): Promise<boolean> {
    return this.durably(() => this.run('DELETE FROM projects WHERE id = ?', id) > 0);
  }

  // --- users, roles, keys ---------------------------------------------------------------------

  async createUser(u: User): Promise<void> {
    await this.durably(() => this.run('INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)', u.id, u.name, u.createdAt));
  }
  async getUser(id: string): Promise<User | null> {
    return mapOne(this.get('SELECT * FROM users WHERE id = ?', id), toUser);
  }
  async getUserByName(name: string): Promise<User | null> {
    return mapOne(this.get('SELECT * FROM users WHERE name = ?', name), toUser);
  }
  async listUsers(): Promise<User[]> {
    return this.all('SELECT * FROM users ORDER BY name').map(toUser);
  }
  async deleteUser(id: string): Promise<boolean> {
    return this.durably(() => this.run('DELETE FROM users WHERE id = ?', id) > 0);
  }

  async setRole(a: RoleAssignment): Promise<void> {
    await this.durably(() =>
      this.run(
        'INSERT INTO role_assignments (project_id, user_id, role) VALUES (?, ?, ?) ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role',
        a.projectId,
        a.userId,
        a.role,
      ),
    );
  }
  async getRole(projectId: string, userId: string): Promise<Role | null> {
    const row = this.get('SELECT role FROM role_assignments WHERE project_id = ? AND user_id = ?', projectId, userId);
    return row ? (row.role as Role) : null;
  }
  async listRoles(filter: { projectId?: string; userId?: string }): Promise<RoleAssignment[]> {
    const { sql, params } = filterClause(filter);
    const rows = this.all(`SELECT * FROM role_assignments WHERE ${sql} ORDER BY project_id, user_id`, ...params);
    return rows.map((r) => ({ projectId: str(r.project_id), userId: str(r.user_id), role: r.role as Role }));
  }
  async removeRole(projectId: string, userId: string): Promise<boolean> {
    return this.durably(() => this.run('DELETE FROM role_assignments WHERE project_id = ? AND user_id = ?', projectId, userId) > 0);
  }

  async createAccessKey(k: AccessKey): Promise<void> {
    await this.durably(() =>
      this.run(
        'INSERT INTO access_keys (id, name, user_id, project_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        k.id,
        k.name,
        k.userId,
        k.projectId,
        k.secretHash,
        k.createdAt,
        k.expiresAt,
      ),
    );
  }
  async getAccessKey(id: string): Promise<AccessKey | null> {
    return mapOne(this.get('SELECT * FROM access_keys WHERE id = ?', id), toAccessKey);
  }
  async getAccessKeyByName(userId: string, name: string): Promise<AccessKey | null> {
    return mapOne(this.get('SELECT * FROM access_keys WHERE user_id = ? AND name = ?', userId, name), toAccessKey);
  }
  async listAccessKeys(filter: { projectId?: string; userId?: string }): Promise<AccessKey[]> {
    const { sql, params } = filterClause(filter);
    const rows = this.all(`SELECT * FROM access_keys WHERE ${sql} ORDER BY created_at, id`, ...params);
    return rows.map(toAccessKey);
  }
  async deleteAccessKey(id: string): Promise<boolean> {
    return this.durably(() => this.run('DELETE FROM access_keys WHERE id = ?', id) > 0);
  }

  // --- buckets --------------------------------------------------------------------------------

  async createBucket(b: Bucket): Promise<boolean> {
    const changes = await this.durably(() =>
      this.run(
        `INSERT INTO buckets (name, project_id, type, created_at, updated_at, object_count, bytes, public_read, public_read_allow_ips, encryption, meta)
         VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
        b.name,
        b.projectId,
        b.type,
        b.createdAt,
        b.updatedAt,
        b.publicRead ? 1 : 0,
        JSON.stringify(b.publicReadAllowIps),
        b.encryption,
        JSON.stringify(b.meta),
      ),
    );
    return changes > 0;
  }
  async getBucket(name: string): Promise<Bucket | null> {
    return mapOne(this.get('SELECT * FROM buckets WHERE name = ?', name), toBucket);
  }
  async listBuckets(projectId: string, range: ScanRange): Promise<Bucket[]> {
    const { sql, params } = rangeClause('name', range);
    return this.all(`SELECT * FROM buckets WHERE project_id = ? AND ${sql}`, projectId, ...params).map(toBucket);
  }
  async updateBucket(name: string, patch: BucketPatch): Promise<Bucket | null> {
    const tx = this.db.transaction(() => {
      const current = mapOne(this.get('SELECT * FROM buckets WHERE name = ?', name), toBucket);
      if (!current) return null;
      const next: Bucket = { ...current, ...definedOnly(patch), updatedAt: Date.now() };
      this.run(
        'UPDATE buckets SET public_read = ?, public_read_allow_ips = ?, meta = ?, updated_at = ? WHERE name = ?',
        next.publicRead ? 1 : 0,
        JSON.stringify(next.publicReadAllowIps),
        JSON.stringify(next.meta),
        next.updatedAt,
        name,
      );
      return next;
    });
    return this.durably(() => tx.immediate());
  }
  async deleteBucket(name: string): Promise<'deleted' | 'not-empty' | 'missing'> {
    const tx = this.db.transaction((): 'deleted' | 'not-empty' | 'missing' => {
      if (!this.get('SELECT 1 FROM buckets WHERE name = ?', name)) return 'missing';
      if (this.get('SELECT 1 FROM objects WHERE bucket = ? LIMIT 1', name)) return 'not-empty';
      this.run('DELETE FROM buckets WHERE name = ?', name);
      return 'deleted';
    });
    return this.durably(() => tx.immediate());
  }

  async accountTotals(projectId: string): Promise<AccountTotals> {
    const row = this.get(
      'SELECT COUNT(*) AS buckets, COALESCE(SUM(object_count), 0) AS objects, COALESCE(SUM(bytes), 0) AS bytes FROM buckets WHERE project_id = ?',
      projectId,
    );
    return { buckets: num(row?.buckets), objects: num(row?.objects), bytes: num(row?.bytes) };
  }

  // --- objects --------------------------------------------------------------------------------

  async getObject(bucket: string, key: string): Promise<ObjectRecord | null> {
    const id = hotId(bucket, key);
    const cached = this.hot.get(id);
    if (cached) return cached;
    const record = mapOne(this.row(OBJECT_WITH_DATA, bucket, key), objectFrom);
    if (record) this.remember(id, record);
    return record;
  }

  async putObject(o: ObjectRecord, condition: PutCondition = {}): Promise<PutResult> {
    return this.committer.submit(() => this.putOne(o, condition));
  }

  /** Bulk load (bench seeding, imports): every record in one transaction; SQLite-only, not in the interface. */
  async putObjects(records: readonly ObjectRecord[]): Promise<PutResult[]> {
    return this.durably(() => this.db.transaction(() => records.map((o) => this.putOne(o, {}))).immediate());
  }

  private putOne(o: ObjectRecord, condition: PutCondition): PutResult {
    if (!this.get('SELECT 1 FROM buckets WHERE name = ?', o.bucket)) return { ok: false, reason: 'no-bucket' };
    this.forget(o.bucket, o.key);
    const previousRow = this.row(OBJECT_BY_KEY, o.bucket, o.key);
    const previous = mapOne(previousRow, objectFrom);
    const live = previous && !isExpired(previous, o.lastModified) ? previous : null;
    if (condition.mustNotExist && live) return { ok: false, reason: 'exists' };
    this.run(
      `INSERT INTO objects (bucket, key, blob_id, size, etag, content_type, last_modified, meta, headers, delete_at, encryption, inline_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, key) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size, etag = excluded.etag,
         content_type = excluded.content_type, last_modified = excluded.last_modified, meta = excluded.meta,
         headers = excluded.headers, delete_at = excluded.delete_at, encryption = excluded.encryption,
         inline_id = excluded.inline_id`,
      o.bucket,
      o.key,
      o.blobId,
      o.size,
      o.etag,
      o.contentType,
      o.lastModified,
      JSON.stringify(o.meta),
      JSON.stringify(o.headers),
      o.deleteAt,
      o.encryption ? JSON.stringify(o.encryption) : null,
      o.inline ? this.insertInline(o.inline) : null,
    );
    this.deleteInline(previousRow);
    this.adjustBucketTotals(o.bucket, previous ? 0 : 1, o.size - (previous?.size ?? 0));
    return { ok: true, replaced: previous };
  }

  async updateObject(bucket: string, key: string, patch: ObjectPatch): Promise<ObjectRecord | null> {
    return this.committer.submit(() => {
      this.forget(bucket, key);
      const current = mapOne(this.row(OBJECT_BY_KEY, bucket, key), objectFrom);
      if (!current) return null;
      const next: ObjectRecord = { ...current, ...definedOnly(patch) };
      this.run(
        'UPDATE objects SET content_type = ?, meta = ?, headers = ?, delete_at = ? WHERE bucket = ? AND key = ?',
        next.contentType,
        JSON.stringify(next.meta),
        JSON.stringify(next.headers),
        next.deleteAt,
        bucket,
        key,
      );
      return next;
    });
  }

  async deleteObject(bucket: string, key: string, onlyIfExpiredBy?: number): Promise<ObjectRecord | null> {
    return this.committer.submit(() => {
      this.forget(bucket, key);
      const row = this.row(OBJECT_BY_KEY, bucket, key);
      const current = mapOne(row, objectFrom);
      if (!current || (onlyIfExpiredBy !== undefined && !isExpired(current, onlyIfExpiredBy))) return null;
      this.run('DELETE FROM objects WHERE bucket = ? AND key = ?', bucket, key);
      this.deleteInline(row);
      this.adjustBucketTotals(bucket, -1, -current.size);
      return current;
    });
  }

  async scanObjects(bucket: string, range: ScanRange): Promise<ObjectRecord[]> {
    const { sql, params } = rangeClause('key', range);
    return this.rows(`SELECT ${OBJECT_COLUMNS} FROM objects o WHERE o.bucket = ? AND ${sql}`, bucket, ...params).map(objectFrom);
  }

  async listExpired(now: number, limit: number): Promise<ObjectRecord[]> {
    return this.rows(`SELECT ${OBJECT_COLUMNS} FROM objects o WHERE o.delete_at IS NOT NULL AND o.delete_at <= ? ORDER BY o.delete_at LIMIT ?`, now, limit).map(objectFrom);
  }

  async isBlobReferenced(blobId: string): Promise<boolean> {
    return this.get('SELECT 1 FROM objects WHERE blob_id = ? LIMIT 1', blobId) !== undefined;
  }

  async close(): Promise<void> {
    await this.wal.close();
    this.db.close();
  }

  private remember(id: string, record: ObjectRecord): void {
    const size = hotSize(record);
    for (const [oldest, evicted] of this.hot) {
      if (this.hot.size < HOT_MAX_ENTRIES && this.hotBytes + size <= HOT_MAX_BYTES) break;
      this.hot.delete(oldest);
      this.hotBytes -= hotSize(evicted);
    }
    this.hot.set(id, record);
    this.hotBytes += size;
  }

  private forget(bucket: string, key: string): void {
    const id = hotId(bucket, key);
    const cached = this.hot.get(id);
    if (cached) {
      this.hot.delete(id);
      this.hotBytes -= hotSize(cached);
    }
  }

  private insertInline(data: Buffer): number {
    return Number(this.statement('INSERT INTO inline_data (data) VALUES (?)').run(data).lastInsertRowid);
  }

  private deleteInline(row: unknown[] | undefined): void {
    const inlineId = row?.[INLINE_ID];
    if (typeof inlineId === 'number') this.run('DELETE FROM inline_data WHERE id = ?', inlineId);
  }

  private adjustBucketTotals(bucket: string, objects: number, bytes: number): void {
    this.run('UPDATE buckets SET object_count = object_count + ?, bytes = bytes + ?, updated_at = ? WHERE name = ?',
      objects,
      bytes,
      Date.now(),
      bucket,
    );
  }

  /** Statements prepared once per SQL text; raw ones return rows as arrays of column values. */
  private statement(sql: string, raw = false): Database.Statement {
    const cache = raw ? this.rawStatements : this.statements;
    let statement = cache.get(sql);
    if (!statement) {
      statement = raw ? this.db.prepare(sql).raw(true) : this.db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }
  private run(sql: string, ...params: unknown[]): number {
    return this.statement(sql).run(...params).changes;
  }
  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.statement(sql).get(...params) as Row | undefined;
  }
  private all(sql: string, ...params: unknown[]): Row[] {
    return this.statement(sql).all(...params) as Row[];
  }
  /** Rows as arrays of column values (raw mode). */
  private row(sql: string, ...params: unknown[]): unknown[] | undefined {
    return this.statement(sql, true).get(...params) as unknown[] | undefined;
  }
  private rows(sql: string, ...params: unknown[]): unknown[][] {
    return this.statement(sql, true).all(...params) as unknown[][];
  }
}

/**
 * `project_id = ? AND user_id = ?` for the filters given. (Numbered `?1` placeholders reused twice make
 * better-sqlite3 reject the call with "Too many parameter values", so the clause is built instead.)
 */
function filterClause(filter: { projectId?: string | undefined; userId?: string | undefined }): { sql: string; params: string[] } {
  const conditions: string[] = [];
  const params: string[] = [];
  if (filter.projectId !== undefined) {
    conditions.push('project_id = ?');
    params.push(filter.projectId);
  }
  if (filter.userId !== undefined) {
    conditions.push('user_id = ?');
    params.push(filter.userId);
  }
  return { sql: conditions.length ? conditions.join(' AND ') : '1 = 1', params };
}

/** An ordered range over `column`: prefix, exclusive bounds, direction and limit. */
function rangeClause(column: string, range: ScanRange): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (range.prefix) {
    conditions.push(`${column} >= ?`);
    params.push(range.prefix);
    const upper = prefixUpperBound(range.prefix);
    if (upper !== null) {
      conditions.push(`${column} < ?`);
      params.push(upper);
    }
  }
  if (range.lower) {
    conditions.push(`${column} ${range.lower.inclusive ? '>=' : '>'} ?`);
    params.push(range.lower.key);
  }
  if (range.upper) {
    conditions.push(`${column} ${range.upper.inclusive ? '<=' : '<'} ?`);
    params.push(range.upper.key);
  }
  const where = conditions.length ? conditions.join(' AND ') : '1';
  params.push(range.limit);
  return { sql: `${where} ORDER BY ${column} ${range.reverse ? 'DESC' : 'ASC'} LIMIT ?`, params };
}

/** Names never hold NUL (constraints), so it separates bucket and key unambiguously. */
function hotId(bucket: string, key: string): string {
  return `${bucket}\0${key}`;
}

function hotSize(record: ObjectRecord): number {
  return 1024 + (record.inline?.length ?? 0);
}

function isExpired(o: ObjectRecord, now: number): boolean {
  return o.deleteAt !== null && o.deleteAt <= now;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  const entries: [string, unknown][] = Object.entries(patch);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Partial<T>;
}

function mapOne<R, T>(row: R | undefined, map: (row: R) => T): T | null {
  return row ? map(row) : null;
}

function str(value: unknown): string {
  return String(value);
}

function num(value: unknown): number {
  return Number(value);
}

function json(value: unknown): unknown {
  // Most objects carry no metadata: skip the parser for the empty object.
  return value === '{}' ? {} : JSON.parse(String(value));
}

function toProject(r: Row): Project {
  return { id: str(r.id), name: str(r.name), createdAt: num(r.created_at), meta: json(r.meta) as Metadata };
}

function toUser(r: Row): User {
  return { id: str(r.id), name: str(r.name), createdAt: num(r.created_at) };
}

function toAccessKey(r: Row): AccessKey {
  return {
    id: str(r.id),
    name: str(r.name),
    userId: str(r.user_id),
    projectId: str(r.project_id),
    secretHash: str(r.secret_hash),
    createdAt: num(r.created_at),
    expiresAt: r.expires_at === null ? null : num(r.expires_at),
  };
}

function toBucket(r: Row): Bucket {
  return {
    name: str(r.name),
    projectId: str(r.project_id),
    type: str(r.type),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    objectCount: num(r.object_count),
    bytes: num(r.bytes),
    publicRead: r.public_read === 1,
    publicReadAllowIps: json(r.public_read_allow_ips) as string[],
    encryption: r.encryption === 'managed' ? 'managed' : null,
    meta: json(r.meta) as Metadata,
  };
}

function objectFrom(r: unknown[]): ObjectRecord {
  return {
    bucket: str(r[0]),
    key: str(r[1]),
    blobId: str(r[2]),
    size: num(r[3]),
    etag: str(r[4]),
    contentType: str(r[5]),
    lastModified: num(r[6]),
    meta: json(r[7]) as Metadata,
    headers: json(r[8]) as Metadata,
    deleteAt: r[9] === null ? null : num(r[9]),
    encryption: r[10] === null ? null : (json(r[10]) as BlobEncryption),
    // Always present, so that every record has one shape (V8 keeps the hot path monomorphic).
    inline: Buffer.isBuffer(r[12]) ? r[12] : null,
  };
}
