/** Account (project) level metadata, as Swift exposes it with X-Account-Meta-*, and the account's grants (Swift's account ACL). */
import { accountLevelOf, authorizeAccount } from './authz.ts';
import { checkUserMetadata } from './constraints.ts';
import type { Directory } from './directory.ts';
import { fail } from './errors.ts';
import type { AccountGrant } from './model.ts';
import type { Caller, Project } from './types.ts';

export class Accounts {
  private readonly cache = new Map<string, { project: Project | null; readAt: number }>();

  /** `cacheTtlMs`: how long `settings` may answer from what it read (0 where other nodes write the same store). */
  constructor(
    private readonly directory: Directory,
    private readonly cacheTtlMs = 0,
  ) {}

  /**
   * The project as stored, for settings every write looks at (its quota): no authorization, and from this node's
   * short cache when it has one, answering at once (no turn of the event loop) while it is fresh.
   */
  settings(account: string): Project | null | Promise<Project | null> {
    const cached = this.cache.get(account);
    if (cached && Date.now() - cached.readAt < this.cacheTtlMs) return cached.project;
    return this.directory.getProject(account).then((project) => {
      if (this.cacheTtlMs > 0) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(account, { project, readAt: Date.now() });
      }
      return project;
    });
  }

  async get(caller: Caller, account: string): Promise<Project> {
    authorizeAccount(caller, 'ListBuckets', account);
    return (await this.directory.getProject(account)) ?? fail('NoSuchAccount', 'No such account');
  }

  /**
   * Sets and removes metadata; `accountGrants`, when given, replace the account's grants (an empty list removes
   * them) in the same write, so a refused change leaves both as they were.
   */
  async updateMetadata(caller: Caller, account: string, set: Record<string, string>, remove: readonly string[], accountGrants?: AccountGrant[]): Promise<Project> {
    const project = await this.get(caller, account);
    authorizeAccount(caller, 'PutAccountMetadata', account);
    const meta = { ...project.meta, ...set };
    for (const key of remove) Reflect.deleteProperty(meta, key);
    for (const [key, value] of Object.entries(set)) if (value === '') Reflect.deleteProperty(meta, key);
    checkUserMetadata(meta);
    await this.directory.updateProjectMeta(account, meta, accountGrants);
    this.cache.delete(account);
    const updated: Project = { ...project, meta };
    if (accountGrants !== undefined) updated.accountGrants = accountGrants;
    return updated;
  }

  /**
   * The operator's quota on the account's bytes (Swift's account quota, `X-Account-Meta-Quota-Bytes`, which only a
   * reseller admin sets), or none (null). Kept with the account's metadata, where Swift shows it.
   */
  async setQuota(account: string, bytes: number | null): Promise<Project> {
    const project = (await this.directory.getProject(account)) ?? fail('NoSuchAccount', 'No such account');
    if (bytes !== null && !(Number.isSafeInteger(bytes) && bytes >= 0)) fail('InvalidArgument', 'A quota is a whole number of bytes');
    const meta = { ...project.meta };
    if (bytes === null) delete meta['quota-bytes'];
    else meta['quota-bytes'] = String(bytes);
    await this.directory.updateProjectMeta(account, meta);
    this.cache.delete(account);
    return { ...project, meta };
  }

  /**
   * The caller with what the account grants of `accounts` give them (`Caller.accountAccess`), which `authorize()`
   * then applies. Only users of other projects are looked at: an account's own users cost nothing here.
   */
  async withAccountAccess(caller: Caller, accounts: readonly string[]): Promise<Caller> {
    if (caller.kind !== 'user') return caller;
    let access: Record<string, AccountGrant['level']> | undefined;
    for (const account of accounts) {
      if (account === caller.projectId || access?.[account] !== undefined) continue;
      const grants = (await this.directory.getProject(account))?.accountGrants;
      const level = grants && accountLevelOf(grants, caller);
      if (level !== undefined) access = { ...access, [account]: level };
    }
    return access === undefined ? caller : { ...caller, accountAccess: { ...caller.accountAccess, ...access } };
  }
}
