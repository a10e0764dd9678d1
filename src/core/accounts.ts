/** Account (project) level metadata, as Swift exposes it with X-Account-Meta-*. */
import { authorizeAccount } from './authz.ts';
import { checkUserMetadata } from './constraints.ts';
import type { Directory } from './directory.ts';
import { fail } from './errors.ts';
import type { Caller, Project } from './types.ts';

export class Accounts {
  constructor(private readonly directory: Directory) {}

  async get(caller: Caller, account: string): Promise<Project> {
    authorizeAccount(caller, 'ListBuckets', account);
    return (await this.directory.getProject(account)) ?? fail('NoSuchAccount', 'No such account');
  }

  async updateMetadata(caller: Caller, account: string, set: Record<string, string>, remove: readonly string[]): Promise<Project> {
    const project = await this.get(caller, account);
    authorizeAccount(caller, 'PutAccountMetadata', account);
    const meta = { ...project.meta, ...set };
    for (const key of remove) Reflect.deleteProperty(meta, key);
    for (const [key, value] of Object.entries(set)) if (value === '') Reflect.deleteProperty(meta, key);
    checkUserMetadata(meta);
    await this.directory.updateProjectMeta(account, meta);
    return { ...project, meta };
  }
}
