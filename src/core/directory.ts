/** Projects, users, role assignments and access keys as stored: every rule about them, in one place. */
import { newId } from '../lib/ids.ts';
import type { MetadataStore, ReadOps, Tx } from '../store/meta/index.ts';
import { MAX_ACCESS_KEYS_PER_PROJECT, ROLES, type Role } from './constraints.ts';
import { fail } from './errors.ts';
import { permissionsOf } from './buckets.ts';
import { ALL, TABLES, type AccessKeyRow, type AccountGrant, type ProjectRow, type S3CredentialRow } from './model.ts';
import type { AccessKey, Metadata, Project, RoleAssignment, User } from './types.ts';

const EVERYTHING = { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false } as const;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export class Directory {
  constructor(private readonly store: MetadataStore) {}

  // --- projects -------------------------------------------------------------------------------

  async getProject(id: string, ops: ReadOps = this.store): Promise<Project | null> {
    const row = await ops.get(TABLES.projects, ALL, id);
    return row && { id, ...row.value };
  }

  async getProjectByName(name: string, ops: ReadOps = this.store): Promise<Project | null> {
    const ref = await ops.get(TABLES.projectNames, ALL, name);
    return ref && this.getProject(ref.value.id, ops);
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.store.scan(TABLES.projects, ALL, EVERYTHING);
    return rows.map((row) => ({ id: row.sk, ...row.value })).sort((a, b) => compare(a.name, b.name));
  }

  /** Creates the project; with `orExisting`, a project of that name already there is returned instead. */
  async createProject(name: string, orExisting = false): Promise<Project> {
    if (name.trim() === '') fail('InvalidArgument', 'A project needs a name');
    return this.store.transact(async (tx) => {
      const existing = await this.getProjectByName(name, tx);
      if (existing) return orExisting ? existing : fail('AlreadyExists', `Project "${name}" already exists`);
      const project: Project = { id: newId(), name, createdAt: Date.now(), meta: {} };
      tx.put(TABLES.projects, ALL, project.id, { name, createdAt: project.createdAt, meta: project.meta }, { ifVersion: null });
      tx.put(TABLES.projectNames, ALL, name, { id: project.id }, { ifVersion: null });
      return project;
    });
  }

  /** Sets the project's metadata and, when given, its account grants (an empty list removes them), in one write. */
  async updateProjectMeta(id: string, meta: Metadata, accountGrants?: AccountGrant[]): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.projects, ALL, id);
      if (!row) fail('NoSuchAccount', 'No such account');
      const next: ProjectRow = { ...row.value, meta };
      if (accountGrants !== undefined) {
        if (accountGrants.length > 0) next.accountGrants = accountGrants;
        else delete next.accountGrants;
      }
      tx.put(TABLES.projects, ALL, id, next);
    });
  }

  /** A project that still has buckets cannot be deleted; its role assignments and access keys go with it. */
  async deleteProject(id: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.projects, ALL, id);
      if (!row) fail('NoSuchProject', `No project ${id}`);
      const buckets = await tx.scan(TABLES.buckets, id, { ...EVERYTHING, limit: 1 });
      if (buckets.length > 0) fail('ProjectNotEmpty', `Project ${row.value.name} still has buckets`);
      tx.delete(TABLES.projects, ALL, id);
      tx.delete(TABLES.projectNames, ALL, row.value.name);
      for (const role of await tx.scan(TABLES.roles, ALL, { ...EVERYTHING, prefix: `${id}/` })) tx.delete(TABLES.roles, ALL, role.sk);
      for (const key of await this.keysWhere(tx, (k) => k.projectId === id)) this.dropKey(tx, key);
      await this.dropS3Credentials(tx, (row) => row.projectId === id);
    });
  }

  // --- users ----------------------------------------------------------------------------------

  async getUser(id: string, ops: ReadOps = this.store): Promise<User | null> {
    const row = await ops.get(TABLES.users, ALL, id);
    return row && { id, ...row.value };
  }

  async getUserByName(name: string, ops: ReadOps = this.store): Promise<User | null> {
    const ref = await ops.get(TABLES.userNames, ALL, name);
    return ref && this.getUser(ref.value.id, ops);
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.store.scan(TABLES.users, ALL, EVERYTHING);
    return rows.map((row) => ({ id: row.sk, ...row.value })).sort((a, b) => compare(a.name, b.name));
  }

  async createUser(name: string, orExisting = false): Promise<User> {
    if (name.trim() === '') fail('InvalidArgument', 'A user needs a name');
    return this.store.transact(async (tx) => {
      const existing = await this.getUserByName(name, tx);
      if (existing) return orExisting ? existing : fail('AlreadyExists', `User "${name}" already exists`);
      const user: User = { id: newId(), name, createdAt: Date.now() };
      tx.put(TABLES.users, ALL, user.id, { name, createdAt: user.createdAt }, { ifVersion: null });
      tx.put(TABLES.userNames, ALL, name, { id: user.id }, { ifVersion: null });
      return user;
    });
  }

  /** The user's role assignments and access keys go with them. */
  async deleteUser(id: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.users, ALL, id);
      if (!row) fail('NoSuchUser', `No user ${id}`);
      tx.delete(TABLES.users, ALL, id);
      tx.delete(TABLES.userNames, ALL, row.value.name);
      for (const role of await tx.scan(TABLES.roles, ALL, EVERYTHING)) {
        if (!role.sk.endsWith(`/${id}`)) continue;
        tx.delete(TABLES.roles, ALL, role.sk);
        await this.repairBucketRoles(tx, role.sk.slice(0, -id.length - 1), id);
      }
      for (const key of await this.keysWhere(tx, (k) => k.userId === id)) this.dropKey(tx, key);
      await this.dropS3Credentials(tx, (row) => row.userId === id);
    });
  }

  // --- roles ----------------------------------------------------------------------------------

  async getRole(projectId: string, userId: string, ops: ReadOps = this.store): Promise<{ role: Role; assignedAt: number } | null> {
    const row = await ops.get(TABLES.roles, ALL, roleKey(projectId, userId));
    return row?.value ?? null;
  }

  /** (Re)assigns a role; tokens issued before now do not carry it. */
  async setRole(projectId: string, userId: string, role: Role): Promise<void> {
    await this.store.transact(async (tx) => {
      if (!(await tx.get(TABLES.projects, ALL, projectId))) fail('NoSuchProject', `No project ${projectId}`);
      if (!(await tx.get(TABLES.users, ALL, userId))) fail('NoSuchUser', `No user ${userId}`);
      tx.put(TABLES.roles, ALL, roleKey(projectId, userId), { role, assignedAt: Date.now() });
      await this.repairBucketRoles(tx, projectId, null);
    });
  }

  async removeRole(projectId: string, userId: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const key = roleKey(projectId, userId);
      if (!(await tx.get(TABLES.roles, ALL, key))) fail('InvalidArgument', 'No such role assignment');
      tx.delete(TABLES.roles, ALL, key);
      await this.repairBucketRoles(tx, projectId, userId);
    });
  }

  /**
   * After a project's members or roles changed: forgets the bucket roles of a user who left (so rejoining starts
   * from the defaults again), and gives a bucket left without any Storage Admin back to the project's admins
   * (their bucket roles return to the default, Storage Admin).
   */
  private async repairBucketRoles(tx: Tx, projectId: string, leftUserId: string | null): Promise<void> {
    const memberRows = await tx.scan(TABLES.roles, ALL, { ...EVERYTHING, prefix: `${projectId}/` });
    const members = memberRows.map((row) => ({ userId: row.sk.slice(projectId.length + 1), userName: '', projectRole: row.value.role }));
    for (const bucket of await tx.scan(TABLES.buckets, projectId, EVERYTHING)) {
      const roles = { ...bucket.value.roles };
      const before = JSON.stringify(roles);
      if (leftUserId !== null) Reflect.deleteProperty(roles, leftUserId);
      if (!permissionsOf({ ...bucket.value, roles }, members).some((p) => p.role === 'Storage Admin')) {
        for (const m of members) if (m.projectRole === 'admin') Reflect.deleteProperty(roles, m.userId);
      }
      if (JSON.stringify(roles) !== before) tx.put(TABLES.buckets, projectId, bucket.sk, { ...bucket.value, roles, updatedAt: Date.now() });
    }
  }

  async listRoles(filter: { projectId?: string | undefined; userId?: string | undefined }): Promise<RoleAssignment[]> {
    const prefix = filter.projectId === undefined ? '' : `${filter.projectId}/`;
    const rows = await this.store.scan(TABLES.roles, ALL, { ...EVERYTHING, prefix });
    return rows
      .map((row) => {
        const [projectId = '', userId = ''] = row.sk.split('/');
        return { projectId, userId, role: row.value.role };
      })
      .filter((a) => filter.userId === undefined || a.userId === filter.userId);
  }

  // --- access keys ----------------------------------------------------------------------------

  async getAccessKey(id: string, ops: ReadOps = this.store): Promise<AccessKey | null> {
    const row = await ops.get(TABLES.accessKeys, ALL, id);
    return row && { id, ...row.value };
  }

  async getAccessKeyByName(userId: string, name: string): Promise<AccessKey | null> {
    const ref = await this.store.get(TABLES.accessKeyNames, userId, name);
    return ref && this.getAccessKey(ref.value.id);
  }

  async listAccessKeys(filter: { projectId?: string | undefined; userId?: string | undefined }): Promise<AccessKey[]> {
    const keys = await this.keysWhere(
      this.store,
      (k) => (filter.projectId === undefined || k.projectId === filter.projectId) && (filter.userId === undefined || k.userId === filter.userId),
    );
    return keys.sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
  }

  /** Stores a new key; with `replace`, a key of the same id is replaced (a new secret: its old tokens stop working). */
  async putAccessKey(key: AccessKey, replace = false): Promise<void> {
    await this.store.transact(async (tx) => {
      if (!(await this.getRole(key.projectId, key.userId, tx))) fail('InvalidArgument', 'The user has no role in the project; assign one first');
      const existing = await this.getAccessKey(key.id, tx);
      if (existing && !replace) fail('AlreadyExists', `Access key ${key.id} already exists`);
      // Several nodes bootstrapping the same configured key at once: the first one's key stands.
      if (existing?.secretHash === key.secretHash && existing.userId === key.userId && existing.projectId === key.projectId) return;
      if (existing) this.dropKey(tx, existing);
      else await this.checkKeyLimit(tx, key.userId, key.projectId);
      const named = await tx.get(TABLES.accessKeyNames, key.userId, key.name);
      if (named && named.value.id !== existing?.id) fail('AlreadyExists', `The user already has a key named ${key.name}`);
      const { id, ...row } = key;
      tx.put(TABLES.accessKeys, ALL, id, row);
      tx.put(TABLES.accessKeyNames, key.userId, key.name, { id });
    });
  }

  async deleteAccessKey(id: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const key = await this.getAccessKey(id, tx);
      if (!key) fail('NoSuchAccessKey', `No access key ${id}`);
      this.dropKey(tx, key);
    });
  }

  /** KakaoCloud's rule: a user holds at most two access keys in one project. */
  private async checkKeyLimit(tx: Tx, userId: string, projectId: string): Promise<void> {
    const names = await tx.scan(TABLES.accessKeyNames, userId, EVERYTHING);
    const keys = await Promise.all(names.map((name) => tx.get(TABLES.accessKeys, ALL, name.value.id)));
    const inProject = keys.filter((key) => key?.value.projectId === projectId).length;
    if (inProject >= MAX_ACCESS_KEYS_PER_PROJECT) {
      fail('LimitExceeded', `The user already has ${inProject} access keys in this project, the most allowed (${MAX_ACCESS_KEYS_PER_PROJECT}); delete one first`);
    }
  }

  private async dropS3Credentials(tx: Tx, drop: (row: S3CredentialRow) => boolean): Promise<void> {
    for (const row of await tx.scan(TABLES.s3Credentials, ALL, EVERYTHING)) if (drop(row.value)) tx.delete(TABLES.s3Credentials, ALL, row.sk);
  }

  private dropKey(tx: Tx, key: AccessKey): void {
    tx.delete(TABLES.accessKeys, ALL, key.id);
    tx.delete(TABLES.accessKeyNames, key.userId, key.name);
  }

  private async keysWhere(ops: ReadOps, keep: (key: AccessKey) => boolean): Promise<AccessKey[]> {
    const rows = await ops.scan(TABLES.accessKeys, ALL, EVERYTHING);
    return rows.map((row): AccessKey => ({ id: row.sk, ...(row.value satisfies AccessKeyRow) })).filter(keep);
  }
}

function roleKey(projectId: string, userId: string): string {
  return `${projectId}/${userId}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
