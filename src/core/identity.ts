/** Projects, users, roles, access keys, and the tokens they are exchanged for. */
import { randomBytes } from 'node:crypto';
import { newId, newSecret } from '../lib/ids.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { ROLES, TOKEN_LIFETIME_MS, type Role } from './constraints.ts';
import { fail } from './errors.ts';
import type { ServerKeys } from './server-keys.ts';
import type { AccessKey, Caller, Project, User } from './types.ts';

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

interface KeyState {
  readAt: number;
  live: { key: AccessKey; user: User; project: Project; role: Role } | null;
}

export type CredentialRef = { id: string; secret: string } | { name: string; userId: string; secret: string };

export class Identity {
  private readonly keyStates = new Map<string, KeyState>();
  /** Tokens whose signature already checked out: saves an HMAC and a JSON parse per request. */
  private readonly verifiedTokens = new Map<string, TokenClaims>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly keys: ServerKeys,
  ) {}

  // --- tokens ---------------------------------------------------------------------------------

  async issueToken(credential: CredentialRef): Promise<IssuedToken> {
    const key = await this.findAccessKey(credential);
    if (!key || !this.keys.verifySecret(credential.secret, key.secretHash)) {
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

  /** Verifies a token without a database round trip while the key's state is fresh in memory. */
  async verifyToken(token: string): Promise<IssuedToken | null> {
    const claims = this.verifiedTokens.get(token) ?? this.rememberVerified(token);
    if (!claims || claims.expiresAt <= Date.now()) return null;
    const state = await this.keyState(claims.accessKeyId);
    const live = state.live;
    if (!live || live.key.userId !== claims.userId || live.key.projectId !== claims.projectId) return null;
    return { token, claims, ...live, accessKey: live.key };
  }

  async callerFromToken(token: string): Promise<Caller | null> {
    const verified = await this.verifyToken(token);
    if (!verified) return null;
    return {
      kind: 'user',
      userId: verified.user.id,
      userName: verified.user.name,
      projectId: verified.project.id,
      role: verified.role,
      accessKeyId: verified.accessKey.id,
    };
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

  private async keyState(accessKeyId: string): Promise<KeyState> {
    const cached = this.keyStates.get(accessKeyId);
    if (cached && Date.now() - cached.readAt < KEY_STATE_TTL_MS) return cached;
    return this.refreshKeyState(accessKeyId);
  }

  private async refreshKeyState(accessKeyId: string): Promise<KeyState> {
    const state: KeyState = { readAt: Date.now(), live: null };
    const key = await this.meta.getAccessKey(accessKeyId);
    if (key && (key.expiresAt === null || key.expiresAt > Date.now())) {
      const [user, project, role] = await Promise.all([
        this.meta.getUser(key.userId),
        this.meta.getProject(key.projectId),
        this.meta.getRole(key.projectId, key.userId),
      ]);
      if (user && project && role) state.live = { key, user, project, role };
    }
    if (this.keyStates.size > 10_000) this.keyStates.clear();
    this.keyStates.set(accessKeyId, state);
    return state;
  }

  private async findAccessKey(credential: CredentialRef): Promise<AccessKey | null> {
    if ('id' in credential) return this.meta.getAccessKey(credential.id);
    const user = await this.meta.getUser(credential.userId);
    if (!user) fail('NoSuchUser', `Could not find user: ${credential.userId}.`);
    const key = await this.meta.getAccessKeyByName(user.id, credential.name);
    if (!key) fail('NoSuchAccessKey', `Could not find application credential: ${credential.name}.`);
    return key;
  }

  // --- administration -------------------------------------------------------------------------

  async createProject(name: string): Promise<Project> {
    if (await this.meta.getProjectByName(name)) fail('AlreadyExists', `Project "${name}" already exists`);
    const project: Project = { id: newId(), name, createdAt: Date.now(), meta: {} };
    await this.meta.createProject(project);
    return project;
  }

  async createUser(name: string): Promise<User> {
    if (await this.meta.getUserByName(name)) fail('AlreadyExists', `User "${name}" already exists`);
    const user: User = { id: newId(), name, createdAt: Date.now() };
    await this.meta.createUser(user);
    return user;
  }

  async assignRole(projectRef: string, userRef: string, role: string): Promise<void> {
    if (!isRole(role)) fail('InvalidArgument', `Role must be one of ${ROLES.join(', ')}`);
    const project = await this.resolveProject(projectRef);
    const user = await this.resolveUser(userRef);
    await this.meta.setRole({ projectId: project.id, userId: user.id, role });
  }

  async createAccessKey(
    projectRef: string,
    userRef: string,
    options: { name?: string; id?: string; secret?: string; expiresAt?: number | null } = {},
  ): Promise<{ key: AccessKey; secret: string }> {
    const project = await this.resolveProject(projectRef);
    const user = await this.resolveUser(userRef);
    if (!(await this.meta.getRole(project.id, user.id))) {
      fail('InvalidArgument', `User ${user.name} has no role in project ${project.name}; assign one first`);
    }
    const id = options.id ?? newId();
    if (await this.meta.getAccessKey(id)) fail('AlreadyExists', `Access key ${id} already exists`);
    const name = options.name ?? `key-${id.slice(0, 8)}`;
    if (await this.meta.getAccessKeyByName(user.id, name)) fail('AlreadyExists', `User ${user.name} already has a key named ${name}`);
    const secret = options.secret ?? newSecret();
    const key: AccessKey = {
      id,
      name,
      userId: user.id,
      projectId: project.id,
      secretHash: this.keys.hashSecret(secret),
      createdAt: Date.now(),
      expiresAt: options.expiresAt ?? null,
    };
    await this.meta.createAccessKey(key);
    return { key, secret };
  }

  secretMatches(key: AccessKey, secret: string): boolean {
    return this.keys.verifySecret(secret, key.secretHash);
  }

  async deleteAccessKey(id: string): Promise<void> {
    if (!(await this.meta.deleteAccessKey(id))) fail('NoSuchAccessKey', `No access key ${id}`);
    this.keyStates.delete(id);
  }

  async resolveProject(ref: string): Promise<Project> {
    const project = (await this.meta.getProject(ref)) ?? (await this.meta.getProjectByName(ref));
    if (!project) fail('NoSuchProject', `No project ${ref}`);
    return project;
  }

  async resolveUser(ref: string): Promise<User> {
    const user = (await this.meta.getUser(ref)) ?? (await this.meta.getUserByName(ref));
    if (!user) fail('NoSuchUser', `No user ${ref}`);
    return user;
  }
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
