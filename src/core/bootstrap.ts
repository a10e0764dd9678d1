/**
 * First start: a default project, an admin user and an access key (fixed by config, or generated and shown
 * once). Safe when several nodes start at once on one database: each step is get-or-create in one transaction.
 */
import { isOnggiError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { S3Credentials } from './s3-credentials.ts';

export interface BootstrapResult {
  projectId: string;
  projectName: string;
  userId: string;
  /** Present when a credential was created on this start; the secret is never shown again. */
  created: { accessKeyId: string; secret: string } | null;
  accessKeyId: string | null;
  /** The admin's S3 key pair, when this start made it (the first); the secret is never shown again. */
  s3Created?: { access: string; secret: string } | null;
}

const DEFAULT_PROJECT = 'default';
const ADMIN_USER = 'admin';

export async function bootstrap(identity: Identity, root: { id: string; secret: string } | null): Promise<BootstrapResult> {
  const { directory } = identity;
  const project = await directory.createProject(DEFAULT_PROJECT, true);
  const admin = await directory.createUser(ADMIN_USER, true);
  if (!(await directory.getRole(project.id, admin.id))) await directory.setRole(project.id, admin.id, 'admin');
  const base = { projectId: project.id, projectName: project.name, userId: admin.id };

  if (root) {
    const existing = await directory.getAccessKey(root.id);
    if (existing && identity.secretMatches(existing, root.secret)) return { ...base, created: null, accessKeyId: existing.id };
    // The configured secret is the source of truth: a changed secret replaces the stored key (and its tokens).
    await identity.createAccessKey(project.id, admin.id, { id: root.id, secret: root.secret, name: 'root', unrestricted: true, replace: true });
    return { ...base, created: null, accessKeyId: root.id };
  }
  const existingKey = async (): Promise<BootstrapResult | null> => {
    const [key] = await directory.listAccessKeys({ userId: admin.id, projectId: project.id });
    return key ? { ...base, created: null, accessKeyId: key.id } : null;
  };
  const found = await existingKey();
  if (found) return found;
  try {
    const { key, secret } = await identity.createAccessKey(project.id, admin.id, { name: 'root', unrestricted: true });
    return { ...base, created: { accessKeyId: key.id, secret }, accessKeyId: key.id };
  } catch (err) {
    // Another node created the root key first.
    if (isOnggiError(err) && err.code === 'AlreadyExists') return (await existingKey()) ?? withoutKey(base);
    throw err;
  }
}

function withoutKey(base: Omit<BootstrapResult, 'created' | 'accessKeyId'>): BootstrapResult {
  return { ...base, created: null, accessKeyId: null };
}

/** The admin's first S3 key pair, made on the first start only (a pair deleted later is not made again). */
export async function bootstrapS3(credentials: S3Credentials, boot: BootstrapResult): Promise<BootstrapResult> {
  const made = await credentials.createFirst(boot.projectId, boot.userId);
  return { ...boot, s3Created: made && { access: made.credential.access, secret: made.secret } };
}
