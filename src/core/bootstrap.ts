/** First start: a default project, an admin user and an access key (fixed by config, or generated and shown once). */
import type { Identity } from './identity.ts';
import type { MetadataStore } from '../store/meta/index.ts';

export interface BootstrapResult {
  projectId: string;
  projectName: string;
  userId: string;
  /** Present when a credential was created on this start; the secret is never shown again. */
  created: { accessKeyId: string; secret: string } | null;
  accessKeyId: string | null;
}

const DEFAULT_PROJECT = 'default';
const ADMIN_USER = 'admin';

export async function bootstrap(
  meta: MetadataStore,
  identity: Identity,
  root: { id: string; secret: string } | null,
): Promise<BootstrapResult> {
  const project = (await meta.getProjectByName(DEFAULT_PROJECT)) ?? (await identity.createProject(DEFAULT_PROJECT));
  const admin = (await meta.getUserByName(ADMIN_USER)) ?? (await identity.createUser(ADMIN_USER));
  if (!(await meta.getRole(project.id, admin.id))) await identity.assignRole(project.id, admin.id, 'admin');
  const base = { projectId: project.id, projectName: project.name, userId: admin.id };

  if (root) {
    const existing = await meta.getAccessKey(root.id);
    if (existing && identity.secretMatches(existing, root.secret)) return { ...base, created: null, accessKeyId: existing.id };
    // The configured secret is the source of truth: a changed secret replaces the stored key.
    if (existing) await identity.deleteAccessKey(existing.id);
    await identity.createAccessKey(project.id, admin.id, { id: root.id, secret: root.secret, name: 'root' });
    return { ...base, created: null, accessKeyId: root.id };
  }
  const keys = await meta.listAccessKeys({ userId: admin.id, projectId: project.id });
  if (keys.length > 0) return { ...base, created: null, accessKeyId: keys[0]?.id ?? null };
  const { key, secret } = await identity.createAccessKey(project.id, admin.id, { name: 'root' });
  return { ...base, created: { accessKeyId: key.id, secret }, accessKeyId: key.id };
}
