/** Account (project) level metadata, as Swift exposes it with X-Account-Meta-*. */
import type { MetadataStore } from '../store/meta/index.ts';
import { authorizeAccount } from './authz.ts';
import { checkUserMetadata } from './constraints.ts';
import { fail } from './errors.ts';
import type { Caller, Project } from './types.ts';

export class Accounts {
  constructor(private readonly meta: MetadataStore) {}

  async get(caller: Caller, account: string): Promise<Project> {
    authorizeAccount(caller, 'account:read', account);
    return (await this.meta.getProject(account)) ?? fail('NoSuchAccount', 'No such account');
  }

  async updateMetadata(caller: Caller, account: string, set: Record<string, string>, remove: readonly string[]): Promise<Project> {
    authorizeAccount(caller, 'account:write', account);
    const project = (await this.meta.getProject(account)) ?? fail('NoSuchAccount', 'No such account');
    const meta = { ...project.meta, ...set };
    for (const key of remove) Reflect.deleteProperty(meta, key);
    for (const [key, value] of Object.entries(set)) if (value === '') Reflect.deleteProperty(meta, key);
    checkUserMetadata(meta);
    await this.meta.updateProjectMeta(account, meta);
    return { ...project, meta };
  }
}
