/**
 * S3 credentials (Keystone's EC2-style credentials): an access key id and a secret, owned by a user in a project.
 * S3 signatures are HMACs keyed by the secret itself, so the server must recover it: it is kept sealed under the
 * server key (never in clear, never logged) and opened only in memory, to check signatures.
 */
import { randomBytes } from 'node:crypto';
import type { MetadataStore } from '../store/meta/index.ts';
import { authorize } from './authz.ts';
import type { Directory } from './directory.ts';
import { fail } from './errors.ts';
import type { IssuedToken } from './identity.ts';
import { callerOfHolder } from './identity.ts';
import { ALL, TABLES, type S3CredentialRow } from './model.ts';
import type { ServerKeys } from './server-keys.ts';
import type { Caller } from './types.ts';

/** How long a node trusts what it last read of a credential (bounds how late a deletion takes effect). */
const STATE_TTL_MS = 1000;
const EVERYTHING = { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false } as const;
/** The settings row saying the first start's key pair was made. */
const FIRST_MADE = 's3-first-credential';
const ACCESS_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface S3Credential {
  access: string;
  userId: string;
  projectId: string;
  createdAt: number;
}

/** What a signature check needs: the secret, and the caller the credential stands for. */
export interface S3Signer {
  secret: string;
  caller: Extract<Caller, { kind: 'user' }>;
}

interface SignerState {
  readAt: number;
  signer: S3Signer | null;
}

export class S3Credentials {
  private readonly states = new Map<string, SignerState>();

  constructor(
    private readonly store: MetadataStore,
    private readonly directory: Directory,
    private readonly keys: ServerKeys,
  ) {}

  /** A new credential for a user holding a role in the project; the secret is returned now and never again. */
  async create(projectRef: string, userRef: string): Promise<{ credential: S3Credential; secret: string }> {
    const project = (await this.directory.getProject(projectRef)) ?? (await this.directory.getProjectByName(projectRef));
    if (!project) fail('NoSuchProject', `No project ${projectRef}`);
    const user = (await this.directory.getUser(userRef)) ?? (await this.directory.getUserByName(userRef));
    if (!user) fail('NoSuchUser', `No user ${userRef}`);
    if (!(await this.directory.getRole(project.id, user.id))) fail('InvalidArgument', `User ${user.name} has no role in project ${project.name}; assign one first`);
    const access = newAccessKeyId();
    const secret = randomBytes(30).toString('base64');
    const row: S3CredentialRow = { userId: user.id, projectId: project.id, sealedSecret: this.keys.sealSecret(secret), createdAt: Date.now() };
    await this.store.transact(async (tx) => {
      if (await tx.get(TABLES.s3Credentials, ALL, access)) fail('AlreadyExists', 'Access key id taken; try again');
      tx.put(TABLES.s3Credentials, ALL, access, row, { ifVersion: null });
    });
    return { credential: toCredential(access, row), secret };
  }

  /** The first credential of the server, unless one was made before (even if deleted since); null then. */
  async createFirst(projectId: string, userId: string): Promise<{ credential: S3Credential; secret: string } | null> {
    const claimed = await this.store.transact(async (tx) => {
      if (await tx.get(TABLES.settings, ALL, FIRST_MADE)) return false;
      tx.put(TABLES.settings, ALL, FIRST_MADE, { value: String(Date.now()) });
      return true;
    });
    return claimed ? this.create(projectId, userId) : null;
  }

  /** Keystone's `POST /users/{id}/credentials/OS-EC2`: for the token holder, in the token's project. */
  async createOwn(holder: IssuedToken, userId: string, projectId: string | undefined): Promise<{ credential: S3Credential; secret: string }> {
    authorize(callerOfHolder(holder), 'CreateAccessKey', { kind: 'user', userId });
    if (projectId !== undefined && projectId !== holder.project.id) fail('AccessDenied', 'A credential can only be made for the project the token is scoped to');
    return this.create(holder.project.id, holder.user.id);
  }

  async list(filter: { userId?: string | undefined; projectId?: string | undefined } = {}): Promise<S3Credential[]> {
    const rows = await this.store.scan(TABLES.s3Credentials, ALL, EVERYTHING);
    return rows
      .map((row) => toCredential(row.sk, row.value))
      .filter((c) => (filter.userId === undefined || c.userId === filter.userId) && (filter.projectId === undefined || c.projectId === filter.projectId))
      .sort((a, b) => a.createdAt - b.createdAt || (a.access < b.access ? -1 : 1));
  }

  /** The holder's own credentials (every project's, as Keystone lists a user's EC2 credentials). */
  async listOwn(holder: IssuedToken, userId: string): Promise<S3Credential[]> {
    authorize(callerOfHolder(holder), 'ListAccessKeys', { kind: 'user', userId });
    return this.list({ userId });
  }

  async getOwn(holder: IssuedToken, userId: string, access: string): Promise<S3Credential> {
    authorize(callerOfHolder(holder), 'ListAccessKeys', { kind: 'user', userId });
    const row = await this.store.get(TABLES.s3Credentials, ALL, access);
    if (row?.value.userId !== userId) fail('NoSuchAccessKey', `No credential ${access}`);
    return toCredential(access, row.value);
  }

  async delete(access: string): Promise<void> {
    await this.store.transact(async (tx) => {
      if (!(await tx.get(TABLES.s3Credentials, ALL, access))) fail('NoSuchAccessKey', `No credential ${access}`);
      tx.delete(TABLES.s3Credentials, ALL, access);
    });
    this.states.delete(access);
  }

  async deleteOwn(holder: IssuedToken, userId: string, access: string): Promise<void> {
    authorize(callerOfHolder(holder), 'DeleteAccessKey', { kind: 'user', userId });
    await this.getOwn(holder, userId, access);
    await this.delete(access);
  }

  /**
   * The secret and caller behind an access key id, or null (unknown, deleted, or its user no longer holds a role
   * in the project). Kept in memory for a second, so a request costs no database read.
   */
  signer(access: string): S3Signer | null | Promise<S3Signer | null> {
    const cached = this.states.get(access);
    if (cached && Date.now() - cached.readAt < STATE_TTL_MS) return cached.signer;
    return this.readSigner(access);
  }

  private async readSigner(access: string): Promise<S3Signer | null> {
    const state: SignerState = { readAt: Date.now(), signer: null };
    const row = (await this.store.get(TABLES.s3Credentials, ALL, access))?.value;
    if (row) {
      const [user, role] = await Promise.all([this.directory.getUser(row.userId), this.directory.getRole(row.projectId, row.userId)]);
      if (user && role) {
        const previous = this.states.get(access)?.signer;
        const same = previous?.caller.role === role.role && previous.caller.userName === user.name;
        state.signer = same ? previous : {
          secret: this.keys.openSecret(row.sealedSecret),
          caller: { kind: 'user', userId: user.id, userName: user.name, projectId: row.projectId, role: role.role, accessKeyId: access },
        };
      }
    }
    if (this.states.size > 10_000) this.states.clear();
    this.states.set(access, state);
    return state.signer;
  }
}

function toCredential(access: string, row: S3CredentialRow): S3Credential {
  return { access, userId: row.userId, projectId: row.projectId, createdAt: row.createdAt };
}

/** 20 characters, as AWS's access key ids are: upper-case letters and digits. */
function newAccessKeyId(): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += ACCESS_ALPHABET.charAt(byte % 32);
  return `OK${id.slice(2)}`;
}
