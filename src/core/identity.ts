/** Access keys exchanged for tokens, and tokens verified; administration of projects, users, roles and keys. */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, newSecret } from '../lib/ids.ts';
import { authorize } from './authz.ts';
import { ROLES, TOKEN_LIFETIME_MS, type Role } from './constraints.ts';
import { Directory, isRole } from './directory.ts';
import { fail } from './errors.ts';
import type { ServerKeys } from './server-keys.ts';
import type { AccessKey, Caller, Project, User } from './types.ts';

export { isRole } from './directory.ts';

/** How long a verifying node trusts what it last read about an access key; bounds revocation delay. */
const KEY_STATE_TTL_MS = 1000;

export interface TokenClaims {
  accessKeyId: string;
  userId: string;
  projectId: string;
  issuedAt: number;
  expiresAt: number;
  auditId: string;
}

export interface IssuedToken {
  token: string;
  claims: TokenClaims;
  user: User;
  project: Project;
  role: Role;
  accessKey: AccessKey;
}

/** `since`: tokens issued before it are refused (the key's secret or the user's role changed then). */
interface LiveKey {
  key: AccessKey;
  user: User;
  project: Project;
  role: Role;
  since: number;
}

interface KeyState {
  readAt: number;
  live: LiveKey | null;
}

/** Failed secrets for one key: after a few, each further failure is answered more slowly (never a lock-out). */
const FREE_FAILURES = 5;
const FAILURE_WINDOW_MS = 10 * 60 * 1000;
const MAX_FAILURE_DELAY_MS = 4000;

export type CredentialRef = { id: string; secret: string } | { name: string; userId: string; secret: string };

export class Identity {
  private readonly keyStates = new Map<string, KeyState>();
  /** Tokens whose signature already checked out: saves an HMAC and a JSON parse per request. */
  private readonly verifiedTokens = new Map<string, TokenClaims>();
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly callers = new WeakMap<LiveKey, Caller>();

  constructor(
    readonly directory: Directory,
    private readonly keys: ServerKeys,
    /** How long what was read about a key is trusted (revocation delay on this node). */
    private readonly keyStateTtlMs = KEY_STATE_TTL_MS,
  ) {}

  // --- tokens ---------------------------------------------------------------------------------

  /**
   * Unknown key, unknown user or key name, wrong secret: all answer alike (no oracle). Repeated failures for one
   * key are slowed down, which costs the real owner nothing once they use the right secret.
   */
  async issueToken(credential: CredentialRef): Promise<IssuedToken> {
    const key = await this.findAccessKey(credential);
    if (!key || !this.keys.verifySecret(credential.secret, key.secretHash)) {
      await this.slowDownFailure('id' in credential ? credential.id : `${credential.userId}/${credential.name}`);
      fail('InvalidCredentials', 'The request you have made requires authentication.');
    }
    const state = await this.refreshKeyState(key.id);
    if (!state.live) fail('InvalidCredentials', 'The access key is not valid for any project role.');
    const now = Date.now();
    const expiresAt = Math.min(now + TOKEN_LIFETIME_MS, key.expiresAt ?? Number.MAX_SAFE_INTEGER);
    const claims: TokenClaims = {
      accessKeyId: key.id,
      userId: key.userId,
      projectId: key.projectId,
      issuedAt: now,
      expiresAt,
      auditId: randomBytes(16).toString('base64url').slice(0, 22),
    };
    return { token: this.encodeToken(claims), claims, ...state.live, accessKey: state.live.key };
  }

  /**
   * A token for a project member named as Swift's auth v1 names them (`X-Auth-User: <project>:<user>`), with the
   * secret of one of their access keys in that project as the password. `userRef` is a user id or name, or the
   * access key's id; `projectRef` a project id or name. Every failure answers alike, as `issueToken`'s do.
   */
  async issueTokenForMember(projectRef: string | undefined, userRef: string, secret: string): Promise<IssuedToken> {
    const key = await this.memberKeyFor(projectRef, userRef, secret);
    if (!key) {
      await this.slowDownFailure(`${projectRef ?? ''}:${userRef}`);
      fail('InvalidCredentials', 'The request you have made requires authentication.');
    }
    return this.issueToken({ id: key.id, secret });
  }

  /** `projectRef` undefined (Keystone's unscoped request): the project of the user's key that the secret opens. */
  private async memberKeyFor(projectRef: string | undefined, userRef: string, secret: string): Promise<AccessKey | null> {
    const project = projectRef === undefined ? undefined : ((await this.directory.getProject(projectRef)) ?? (await this.directory.getProjectByName(projectRef)));
    if (project === null) return null;
    const byId = await this.directory.getAccessKey(userRef);
    if (byId && (project === undefined || byId.projectId === project.id)) return this.secretMatches(byId, secret) ? byId : null;
    const user = (await this.directory.getUser(userRef)) ?? (await this.directory.getUserByName(userRef));
    if (!user) return null;
    const keys = await this.directory.listAccessKeys({ projectId: project?.id, userId: user.id });
    return keys.find((key) => this.secretMatches(key, secret)) ?? null;
  }

  /** Verifies a token without a database round trip while the key's state is fresh in memory. */
  async verifyToken(token: string): Promise<IssuedToken | null> {
    const verified = await this.liveFor(token);
    if (!verified) return null;
    const { claims, live } = verified;
    return { token, claims, ...live, accessKey: live.key };
  }

  /** The caller behind a token; one object per state of its key, so the request path allocates none. */
  async callerFromToken(token: string): Promise<Caller | null> {
    const live = (await this.liveFor(token))?.live;
    if (!live) return null;
    let caller = this.callers.get(live);
    if (!caller) {
      caller = {
        kind: 'user',
        userId: live.user.id,
        userName: live.user.name,
        projectId: live.project.id,
        role: live.role,
        accessKeyId: live.key.id,
        unrestrictedKey: live.key.unrestricted === true,
      };
      this.callers.set(live, caller);
    }
    return caller;
  }

  private async liveFor(token: string): Promise<{ claims: TokenClaims; live: LiveKey } | null> {
    const claims = this.verifiedTokens.get(token) ?? this.rememberVerified(token);
    if (!claims || claims.expiresAt <= Date.now()) return null;
    const live = (await this.keyState(claims.accessKeyId)).live;
    if (!live || live.key.userId !== claims.userId || live.key.projectId !== claims.projectId || claims.issuedAt < live.since) return null;
    return { claims, live };
  }

  private rememberVerified(token: string): TokenClaims | null {
    const claims = this.decodeToken(token);
    if (!claims) return null;
    if (this.verifiedTokens.size > 10_000) this.verifiedTokens.clear();
    this.verifiedTokens.set(token, claims);
    return claims;
  }

  private encodeToken(claims: TokenClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.keys.signToken(payload)}`;
  }

  private decodeToken(token: string): TokenClaims | null {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return null;
    if (!this.keys.verifyTokenSignature(payload, signature)) return null;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return null;
    }
  }

  private async slowDownFailure(subject: string): Promise<void> {
    const now = Date.now();
    const seen = this.failures.get(subject);
    const record = seen && now - seen.since < FAILURE_WINDOW_MS ? seen : { count: 0, since: now };
    record.count++;
    if (this.failures.size > 10_000) this.failures.clear();
    this.failures.set(subject, record);
    const over = record.count - FREE_FAILURES;
    if (over > 0) await sleep(Math.min(MAX_FAILURE_DELAY_MS, 250 * 2 ** Math.min(over - 1, 8)));
  }

  private async keyState(accessKeyId: string): Promise<KeyState> {
    const cached = this.keyStates.get(accessKeyId);
    if (cached && Date.now() - cached.readAt < this.keyStateTtlMs) return cached;
    return this.refreshKeyState(accessKeyId);
  }

  private async refreshKeyState(accessKeyId: string): Promise<KeyState> {
    const state: KeyState = { readAt: Date.now(), live: null };
    const key = await this.directory.getAccessKey(accessKeyId);
    if (key && (key.expiresAt === null || key.expiresAt > Date.now())) {
      const [user, project, role] = await Promise.all([
        this.directory.getUser(key.userId),
        this.directory.getProject(key.projectId),
        this.directory.getRole(key.projectId, key.userId),
      ]);
      if (user && project && role) state.live = { key, user, project, role: role.role, since: Math.max(key.createdAt, role.assignedAt) };
    }
    if (this.keyStates.size > 10_000) this.keyStates.clear();
    this.keyStates.set(accessKeyId, state);
    return state;
  }

  private async findAccessKey(credential: CredentialRef): Promise<AccessKey | null> {
    if ('id' in credential) return this.directory.getAccessKey(credential.id);
    return this.directory.getAccessKeyByName(credential.userId, credential.name);
  }

  // --- what a token holder may see and manage of their own ----------------------------------------

  /** The projects the user holds a role in (Keystone's /users/{id}/projects and /auth/projects). */
  async projectsOf(userId: string): Promise<Array<Project & { role: Role }>> {
    const assignments = await this.directory.listRoles({ userId });
    const projects = await Promise.all(
      assignments.map(async (a) => {
        const project = await this.directory.getProject(a.projectId);
        return project && { ...project, role: a.role };
      }),
    );
    return projects.filter((p) => p !== null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The token holder's own access keys in the token's project. */
  async ownKeys(holder: IssuedToken): Promise<AccessKey[]> {
    return this.directory.listAccessKeys({ userId: holder.user.id, projectId: holder.project.id });
  }

  async ownKey(holder: IssuedToken, id: string): Promise<AccessKey> {
    const key = await this.directory.getAccessKey(id);
    if (key?.userId !== holder.user.id || key.projectId !== holder.project.id) fail('NoSuchAccessKey', `No access key ${id}`);
    return key;
  }

  /** A new key for the token holder in the token's project (at most two per project; see Directory). */
  async createOwnKey(
    holder: IssuedToken,
    options: { name: string; secret?: string | undefined; expiresAt: number | null; unrestricted: boolean },
  ): Promise<{ key: AccessKey; secret: string }> {
    authorize(callerOfHolder(holder), 'CreateAccessKey', { kind: 'user', userId: holder.user.id });
    if (options.expiresAt !== null && options.expiresAt <= Date.now()) fail('InvalidArgument', 'expires_at must be in the future');
    return this.createAccessKey(holder.project.id, holder.user.id, {
      name: options.name,
      expiresAt: options.expiresAt,
      unrestricted: options.unrestricted,
      ...(options.secret === undefined ? {} : { secret: options.secret }),
    });
  }

  /** Deletes one of the holder's keys; its tokens (the holder's own included, if issued by it) stop working at once. */
  async deleteOwnKey(holder: IssuedToken, id: string): Promise<void> {
    authorize(callerOfHolder(holder), 'DeleteAccessKey', { kind: 'user', userId: holder.user.id });
    await this.ownKey(holder, id);
    await this.deleteAccessKey(id);
  }

  // --- administration -------------------------------------------------------------------------

  async createProject(name: string): Promise<Project> {
    return this.directory.createProject(name);
  }

  async createUser(name: string): Promise<User> {
    return this.directory.createUser(name);
  }

  async assignRole(projectRef: string, userRef: string, role: string): Promise<void> {
    if (!isRole(role)) fail('InvalidArgument', `Role must be one of ${ROLES.join(', ')}`);
    const project = await this.resolveProject(projectRef);
    const user = await this.resolveUser(userRef);
    await this.directory.setRole(project.id, user.id, role);
    this.forgetKeysOf(user.id);
  }

  async removeRole(projectRef: string, userRef: string): Promise<{ projectId: string; userId: string }> {
    const project = await this.resolveProject(projectRef);
    const user = await this.resolveUser(userRef);
    await this.directory.removeRole(project.id, user.id);
    this.forgetKeysOf(user.id);
    return { projectId: project.id, userId: user.id };
  }

  async deleteProject(ref: string): Promise<Project> {
    const project = await this.resolveProject(ref);
    await this.directory.deleteProject(project.id);
    this.keyStates.clear();
    return project;
  }

  async deleteUser(ref: string): Promise<User> {
    const user = await this.resolveUser(ref);
    await this.directory.deleteUser(user.id);
    this.forgetKeysOf(user.id);
    return user;
  }

  async createAccessKey(
    projectRef: string,
    userRef: string,
    options: { name?: string; id?: string; secret?: string; expiresAt?: number | null; unrestricted?: boolean; replace?: boolean } = {},
  ): Promise<{ key: AccessKey; secret: string }> {
    const project = await this.resolveProject(projectRef);
    const user = await this.resolveUser(userRef);
    if (!(await this.directory.getRole(project.id, user.id))) {
      fail('InvalidArgument', `User ${user.name} has no role in project ${project.name}; assign one first`);
    }
    const id = options.id ?? newId();
    const name = options.name ?? `key-${id.slice(0, 8)}`;
    const secret = options.secret ?? newSecret();
    const key: AccessKey = {
      id,
      name,
      userId: user.id,
      projectId: project.id,
      secretHash: this.keys.hashSecret(secret),
      createdAt: Date.now(),
      expiresAt: options.expiresAt ?? null,
      unrestricted: options.unrestricted === true,
    };
    await this.directory.putAccessKey(key, options.replace === true);
    this.keyStates.delete(id);
    return { key, secret };
  }

  secretMatches(key: AccessKey, secret: string): boolean {
    return this.keys.verifySecret(secret, key.secretHash);
  }

  async deleteAccessKey(id: string): Promise<void> {
    await this.directory.deleteAccessKey(id);
    this.keyStates.delete(id);
  }

  private forgetKeysOf(userId: string): void {
    for (const [id, state] of this.keyStates) if (state.live?.key.userId === userId) this.keyStates.delete(id);
  }

  async resolveProject(ref: string): Promise<Project> {
    const project = (await this.directory.getProject(ref)) ?? (await this.directory.getProjectByName(ref));
    if (!project) fail('NoSuchProject', `No project ${ref}`);
    return project;
  }

  async resolveUser(ref: string): Promise<User> {
    const user = (await this.directory.getUser(ref)) ?? (await this.directory.getUserByName(ref));
    if (!user) fail('NoSuchUser', `No user ${ref}`);
    return user;
  }
}

/** The caller a token holder is, for `authorize`. */
export function callerOfHolder(holder: IssuedToken): Caller {
  const { user, project, role, accessKey } = holder;
  return { kind: 'user', userId: user.id, userName: user.name, projectId: project.id, role, accessKeyId: accessKey.id, unrestrictedKey: accessKey.unrestricted === true };
}
