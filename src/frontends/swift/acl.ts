/**
 * Swift's container ACLs (`X-Container-Read`, `X-Container-Write`) as the grants `authorize()` evaluates, and
 * back. Entries, as Swift's proxy cleans them and keystoneauth reads them:
 *   `.r:*`            anyone reads the objects: the bucket's public flag, the same as `/v1_ext`'s `public`
 *   `.r:<host>`       requests whose Referer is that host (`.example.com`: the domain and its subdomains)
 *   `.r:-<host>`      requests whose Referer is that host are refused what `.r:` entries give
 *   `.rlistings`      those let in by `.r:` entries may list the container too
 *   `<project>:<user>`, `<project>:*`, `*:<user>`, `*:*` (ids or names): read = list and read objects; write =
 *   create, change and delete objects.
 * Project and user names are resolved to ids when the ACL is set, and the ACL is shown back with ids.
 */
import type { IncomingMessage } from 'node:http';
import type { GrantChange } from '../../core/buckets.ts';
import type { Directory } from '../../core/directory.ts';
import { fail } from '../../core/errors.ts';
import type { Core } from '../../core/index.ts';
import { ACCOUNT_ACCESS_LEVELS, type AccountAccessLevel, type AccountGrant, type BucketRow, type Grant, type Grantee } from '../../core/model.ts';
import type { Caller, Project } from '../../core/types.ts';
import { registerInfo } from './info.ts';
import { decode } from './router.ts';
import { headerValue } from '../../http/context.ts';

const REFERRER_DESIGNATORS = new Set(['.r', '.ref', '.referer', '.referrer']);

type AclKind = 'read' | 'write';

/** The grant changes a container PUT or POST asks for (none when it carries no ACL header). */
export async function accessChangesFrom(req: IncomingMessage, directory: Directory): Promise<GrantChange[]> {
  const changes: GrantChange[] = [];
  for (const kind of ['read', 'write'] as const) {
    const value = aclHeader(req, kind);
    if (value === undefined) continue;
    changes.push(kind === 'read' ? await readChange(value, directory) : await writeChange(value, directory));
  }
  return changes;
}

/** The header's value ('' when X-Remove-Container-<Kind> asks to remove it), or undefined when absent. */
function aclHeader(req: IncomingMessage, kind: AclKind): string | undefined {
  if (headerValue(req, `x-remove-container-${kind}`) !== undefined) return '';
  return headerValue(req, `x-container-${kind}`);
}

async function readChange(value: string, directory: Directory): Promise<GrantChange> {
  let publicRead = false;
  let listings = false;
  const grants: Grant[] = [];
  const referrers: Grantee[] = [];
  for (const entry of entriesOf(value, 'X-Container-Read')) {
    if (entry === '.rlistings') {
      listings = true;
    } else if (entry.startsWith('.r:')) {
      const host = entry.slice(3);
      if (host === '*') {
        publicRead = true;
        referrers.push({ kind: 'referrer', host: '*' });
      } else if (host.startsWith('-')) {
        grants.push({ grantee: { kind: 'referrer', host: host.slice(1), deny: true }, permission: 'read-objects' });
      } else {
        const grantee: Grantee = { kind: 'referrer', host };
        referrers.push(grantee);
        grants.push({ grantee, permission: 'read-objects' });
      }
    } else {
      const grantee = await granteeOf(entry, directory);
      grants.push({ grantee, permission: 'read-objects' }, { grantee, permission: 'list' });
    }
  }
  if (listings) for (const grantee of referrers) grants.push({ grantee, permission: 'list' });
  return { permissions: ['read-objects', 'list'], grants, publicRead };
}

async function writeChange(value: string, directory: Directory): Promise<GrantChange> {
  const grants: Grant[] = [];
  for (const entry of entriesOf(value, 'X-Container-Write')) {
    if (entry.startsWith('.')) fail('InvalidArgument', `Referrers not allowed in write ACL: '${entry}'`);
    grants.push({ grantee: await granteeOf(entry, directory), permission: 'write-objects' });
  }
  return { permissions: ['write-objects'], grants };
}

/** The entries of an ACL, cleaned as Swift's `clean_acl` does (`.ref:`, `*.host` and spaces normalised). */
function entriesOf(value: string, header: string): string[] {
  const entries: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const first = colon < 0 ? entry : entry.slice(0, colon).trim();
    if (!first.startsWith('.')) {
      entries.push(entry);
    } else if (colon < 0) {
      if (entry !== '.rlistings') fail('InvalidArgument', `Unknown designator '${entry}' in ACL: '${entry}'`);
      entries.push(entry);
    } else if (REFERRER_DESIGNATORS.has(first)) {
      if (header === 'X-Container-Write') fail('InvalidArgument', `Referrers not allowed in write ACL: '${entry}'`);
      entries.push(`.r:${referrerOf(entry.slice(colon + 1).trim(), entry)}`);
    } else {
      fail('InvalidArgument', `Unknown designator '${first}' in ACL: '${entry}'`);
    }
  }
  return entries;
}

function referrerOf(value: string, entry: string): string {
  const negate = value.startsWith('-');
  let host = negate ? value.slice(1).trim() : value;
  if (host !== '*' && host.startsWith('*')) host = host.slice(1).trim();
  if (host === '' || host === '.') fail('InvalidArgument', `No host/domain value after referrer designation in ACL: '${entry}'`);
  return `${negate ? '-' : ''}${host}`;
}

/** `<project>:<user>` with `*` for any, by id or name; unknown names are kept as ids (they then match nobody). */
async function granteeOf(entry: string, directory: Directory): Promise<Grantee> {
  const colon = entry.indexOf(':');
  if (colon < 0) fail('InvalidArgument', `ACL entry '${entry}' is none of <project>:<user>, .r:<referrer>, .rlistings`);
  const project = entry.slice(0, colon).trim();
  const user = entry.slice(colon + 1).trim();
  if (project === '' || user === '') fail('InvalidArgument', `ACL entry '${entry}' names no project or no user (use * for any)`);
  const projectId = project === '*' ? undefined : ((await directory.getProject(project)) ?? (await directory.getProjectByName(project)))?.id ?? project;
  if (user === '*') return projectId === undefined ? { kind: 'authenticated' } : { kind: 'project', projectId };
  const userId = ((await directory.getUser(user)) ?? (await directory.getUserByName(user)))?.id ?? user;
  return projectId === undefined ? { kind: 'user', userId } : { kind: 'user', userId, projectId };
}

/** X-Container-Read / X-Container-Write as the bucket's grants and public flag say (absent when empty). */
export function aclHeaders(bucket: BucketRow, into: Record<string, string | number>): void {
  const read = new Set<string>();
  const write = new Set<string>();
  if (bucket.publicRead) read.add('.r:*');
  let listings = false;
  for (const { grantee, permission } of bucket.grants ?? []) {
    if (permission === 'read-objects') read.add(entryOf(grantee));
    else if (permission === 'write-objects') write.add(entryOf(grantee));
    else if (permission === 'list' && grantee.kind === 'referrer') listings = true;
  }
  if (listings) read.add('.rlistings');
  if (read.size > 0) into['X-Container-Read'] = [...read].join(',');
  if (write.size > 0) into['X-Container-Write'] = [...write].join(',');
}

function entryOf(grantee: Grantee): string {
  switch (grantee.kind) {
    case 'anyone':
      return '.r:*';
    case 'authenticated':
      return '*:*';
    case 'project':
      return `${grantee.projectId}:*`;
    case 'user':
      return `${grantee.projectId ?? '*'}:${grantee.userId}`;
    case 'referrer':
      return `.r:${grantee.deny === true ? '-' : ''}${grantee.host}`;
  }
}

// --- account ACLs -----------------------------------------------------------------------------

/**
 * The account grants an account POST asks for (`X-Account-Access-Control`, Swift's JSON form
 * `{"admin": [...], "read-write": [...], "read-only": [...]}`; empty or `X-Remove-Account-Access-Control`: none),
 * or undefined when it carries no such header. Entries are `<project>:<user>`, `<project>:*`, `*:<user>`, `*:*` or a
 * bare `<project>` (all its users, as tempauth's account groups), by id or name. Malformed ACLs are Swift's 400s.
 */
export async function accountGrantsFrom(req: IncomingMessage, directory: Directory): Promise<AccountGrant[] | undefined> {
  const value = headerValue(req, 'x-remove-account-access-control') !== undefined ? '' : headerValue(req, 'x-account-access-control');
  if (value === undefined) return undefined;
  if (value.trim() === '') return [];
  const acl = parseAccountAcl(value);
  const grants: AccountGrant[] = [];
  for (const level of ACCOUNT_ACCESS_LEVELS) {
    for (const entry of acl[level] ?? []) {
      const grantee = await granteeOf(entry.includes(':') ? entry : `${entry}:*`, directory);
      if (grantee.kind === 'anyone' || grantee.kind === 'referrer') fail('InvalidArgument', `Account ACLs name projects and users only: '${entry}'`);
      grants.push({ grantee, level });
    }
  }
  return grants;
}

/** Swift's (tempauth's) checks of an account ACL, with its words. */
function parseAccountAcl(value: string): Partial<Record<AccountAccessLevel, string[]>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('InvalidArgument', `Syntax error in input (${JSON.stringify(value)})`);
  const acl = parsed as Record<string, unknown>;
  for (const key of Object.keys(acl)) {
    if (!(ACCOUNT_ACCESS_LEVELS as readonly string[]).includes(key)) fail('InvalidArgument', `Key ${JSON.stringify(key)} not recognized`);
  }
  for (const level of ACCOUNT_ACCESS_LEVELS) {
    const list = acl[level];
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail('InvalidArgument', `Value for key ${JSON.stringify(level)} must be a list`);
    if (!list.every((entry) => typeof entry === 'string')) fail('InvalidArgument', `Elements of ${JSON.stringify(level)} list must be strings`);
  }
  return acl;
}

/** X-Account-Access-Control as Swift formats it (sorted keys, no spaces, ASCII), with ids; absent when there are no grants. */
export function accountAclHeader(project: Project, into: Record<string, string | number>): void {
  if (!project.accountGrants?.length) return;
  const acl: Partial<Record<AccountAccessLevel, string[]>> = {};
  for (const { grantee, level } of project.accountGrants) (acl[level] ??= []).push(entryOf(grantee));
  const sorted = Object.fromEntries(Object.entries(acl).sort(([a], [b]) => (a < b ? -1 : 1)));
  into['X-Account-Access-Control'] = JSON.stringify(sorted).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The caller with the account grants of the accounts a request names (its own, a copy's other account, a link's
 * target account), for `authorize()`. Users of the account itself and anonymous callers pass unchanged, at no cost:
 * synchronously, without a turn of the event loop (the hot path).
 */
export function withAccountGrants(caller: Caller, req: IncomingMessage, account: string, core: Core): Caller | Promise<Caller> {
  if (caller.kind !== 'user') return caller;
  const accounts = [account];
  for (const name of ['destination-account', 'x-copy-from-account', 'x-symlink-target-account']) {
    const value = headerValue(req, name);
    const decoded = value === undefined ? undefined : decode(value);
    if (decoded) accounts.push(decoded);
  }
  if (accounts.every((named) => named === caller.projectId)) return caller;
  return core.accounts.withAccountAccess(caller, accounts);
}

// Swift names account ACL support under its auth middleware's section, where its clients and functional tests look.
registerInfo('tempauth', () => ({ account_acls: true }));
