/**
 * core/authz.ts `authorize()`: every role × action × resource × context combination the rules name. The expected
 * answers are written out here from KakaoCloud's role table and S3's/Swift's grant and policy rules, not derived
 * from the module's own tables.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ACCOUNT_ACTIONS,
  accountLevelOf,
  authorize,
  BUCKET_ADMIN_ACTIONS,
  BUCKET_READ_ACTIONS,
  BUCKET_WRITE_ACTIONS,
  type AccessContext,
  type BucketAction,
} from '../../src/core/authz.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import type { BucketRow, Grant, PolicyStatement } from '../../src/core/model.ts';
import type { Caller } from '../../src/core/types.ts';
import { codeOf } from '../helpers/errors.ts';

const P = 'project-a';
const Q = 'project-b';
const user = (id: string, projectId: string, role: 'admin' | 'member' | 'reader', unrestrictedKey = false): Caller => ({
  kind: 'user',
  userId: id,
  userName: id,
  projectId,
  role,
  accessKeyId: `key-${id}`,
  unrestrictedKey,
});
const anonymous: Caller = { kind: 'anonymous', ip: '203.0.113.7' };
const admin = user('u-admin', P, 'admin');
const member = user('u-member', P, 'member');
const reader = user('u-reader', P, 'reader');
const outsider = user('u-outsider', Q, 'admin');

function bucket(extra: Partial<BucketRow> = {}): BucketRow {
  return { id: 'b1', name: 'photos', projectId: P, type: 'STANDARD', createdAt: 0, updatedAt: 0, publicRead: false, publicReadAllowIps: [], encryption: null, meta: {}, ...extra };
}

const ALL_BUCKET_ACTIONS: readonly BucketAction[] = [...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS, ...BUCKET_ADMIN_ACTIONS];
const VIEWER = new Set<BucketAction>(BUCKET_READ_ACTIONS);
const EDITOR = new Set<BucketAction>([...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS]);

function decide(caller: Caller, action: BucketAction, row: BucketRow | null, context?: AccessContext, key?: string): ErrorCode | 'ok' {
  return codeOf(() => authorize(caller, action, { kind: 'bucket', account: P, bucket: row, key }, context));
}

describe('bucket roles (project role defaults, assignments, removal)', () => {
  const cases: [string, Caller, BucketRow, ReadonlySet<BucketAction>][] = [
    ['admin → Storage Admin', admin, bucket(), new Set(ALL_BUCKET_ACTIONS)],
    ['member → Storage Editor', member, bucket(), EDITOR],
    ['reader → Storage Viewer', reader, bucket(), VIEWER],
    ['reader assigned Storage Admin', reader, bucket({ roles: { 'u-reader': 'Storage Admin' } }), new Set(ALL_BUCKET_ACTIONS)],
    ['admin assigned Storage Viewer', admin, bucket({ roles: { 'u-admin': 'Storage Viewer' } }), VIEWER],
    ['member with the role taken away', member, bucket({ roles: { 'u-member': null } }), new Set()],
  ];
  for (const [name, caller, row, allowed] of cases) {
    for (const action of ALL_BUCKET_ACTIONS) {
      test(`${name}: ${action}`, () => {
        assert.equal(decide(caller, action, row), allowed.has(action) ? 'ok' : 'AccessDenied');
      });
    }
  }
  test('a missing bucket: NoSuchBucket for its project, AccessDenied for another, 401 for anonymous', () => {
    assert.equal(decide(admin, 'GetObject', null), 'NoSuchBucket');
    assert.equal(decide(outsider, 'GetObject', null), 'AccessDenied');
    assert.equal(decide(anonymous, 'GetObject', null), 'Unauthenticated');
  });
  test("another project's bucket under this account's name is not found", () => {
    assert.equal(decide(admin, 'GetObject', bucket({ projectId: Q })), 'NoSuchBucket');
  });
});

describe('public buckets and their address allow lists', () => {
  const open = bucket({ publicRead: true });
  const listed = bucket({ publicRead: true, publicReadAllowIps: ['10.0.0.0/8'] });
  for (const action of ALL_BUCKET_ACTIONS) {
    test(`anonymous ${action} in a public bucket`, () => {
      assert.equal(decide(anonymous, action, open), action === 'GetObject' ? 'ok' : 'Unauthenticated');
    });
    test(`anonymous ${action} in a private bucket`, () => {
      assert.equal(decide(anonymous, action, bucket()), 'Unauthenticated');
    });
  }
  test('the allow list: inside 200, outside 403, IPv4-mapped counts', () => {
    assert.equal(decide({ kind: 'anonymous', ip: '10.1.2.3' }, 'GetObject', listed), 'ok');
    assert.equal(decide({ kind: 'anonymous', ip: '::ffff:10.1.2.3' }, 'GetObject', listed), 'ok');
    assert.equal(decide({ kind: 'anonymous', ip: '11.0.0.1' }, 'GetObject', listed), 'AccessDenied');
  });
  test("a user of another project reads a public bucket's objects, and nothing else", () => {
    assert.equal(decide(outsider, 'GetObject', open), 'ok');
    assert.equal(decide(outsider, 'ListObjects', open), 'AccessDenied');
    assert.equal(decide(outsider, 'PutObject', open), 'AccessDenied');
  });
  test("the context's address decides for users too", () => {
    const outsiderAt = (ip: string): Caller => ({ ...outsider, context: { ip } });
    assert.equal(decide(outsiderAt('10.9.9.9'), 'GetObject', listed), 'ok');
    assert.equal(decide(outsiderAt('192.0.2.1'), 'GetObject', listed), 'AccessDenied');
  });
});

describe('grants (container ACLs, S3 ACLs) as data on the bucket', () => {
  const withGrants = (...grants: Grant[]): BucketRow => bucket({ grants });
  const cases: [string, Grant, Caller, BucketAction, ErrorCode | 'ok'][] = [
    ['.r:* reads objects', { grantee: { kind: 'anyone' }, permission: 'read-objects' }, anonymous, 'GetObject', 'ok'],
    ['.r:* does not list', { grantee: { kind: 'anyone' }, permission: 'read-objects' }, anonymous, 'ListObjects', 'Unauthenticated'],
    ['.rlistings lists', { grantee: { kind: 'anyone' }, permission: 'list' }, anonymous, 'ListObjects', 'ok'],
    ['anyone may not write with a read grant', { grantee: { kind: 'anyone' }, permission: 'read-objects' }, anonymous, 'PutObject', 'Unauthenticated'],
    ['a project grant lets its users read', { grantee: { kind: 'project', projectId: Q }, permission: 'read-objects' }, outsider, 'GetObject', 'ok'],
    ['a project grant is not for anonymous', { grantee: { kind: 'project', projectId: Q }, permission: 'read-objects' }, anonymous, 'GetObject', 'Unauthenticated'],
    ['a user grant writes', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'write-objects' }, outsider, 'PutObject', 'ok'],
    ['a user grant in another project does not apply', { grantee: { kind: 'user', userId: 'u-outsider', projectId: P }, permission: 'write-objects' }, outsider, 'PutObject', 'AccessDenied'],
    ['write does not delete the bucket', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'write-objects' }, outsider, 'DeleteBucket', 'AccessDenied'],
    ['authenticated users: any token', { grantee: { kind: 'authenticated' }, permission: 'list' }, outsider, 'ListObjects', 'ok'],
    ['full control', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'full-control' }, outsider, 'PutBucketAcl', 'ok'],
    ['full control does not bypass governance', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'full-control' }, outsider, 'BypassGovernanceRetention', 'AccessDenied'],
    ['full control does not lift a legal hold', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'full-control' }, outsider, 'PutObjectLegalHold', 'AccessDenied'],
    ['full control does put retention', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'full-control' }, outsider, 'PutObjectRetention', 'ok'],
    ['read-acl', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'read-acl' }, outsider, 'GetBucketAcl', 'ok'],
    ['read-acl does not write it', { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'read-acl' }, outsider, 'PutBucketAcl', 'AccessDenied'],
    ['a grant adds to a removed role', { grantee: { kind: 'user', userId: 'u-member' }, permission: 'read-objects' }, member, 'GetObject', 'ok'],
  ];
  for (const [name, grant, caller, action, expected] of cases) {
    test(name, () => {
      const row = withGrants(grant);
      if (caller === member) row.roles = { 'u-member': null };
      assert.equal(decide(caller, action, row), expected);
    });
  }
  test("referrer grants (Swift's .r:host, .r:.domain, .r:-host)", () => {
    const row = withGrants({ grantee: { kind: 'referrer', host: '.example.com' }, permission: 'read-objects' }, { grantee: { kind: 'referrer', host: 'bad.example.com', deny: true }, permission: 'read-objects' });
    const from = (referrer?: string): Caller => ({ kind: 'anonymous', ip: '203.0.113.7', context: { ip: '203.0.113.7', referrer } });
    assert.equal(decide(from('https://www.example.com/page'), 'GetObject', row), 'ok');
    assert.equal(decide(from('https://example.com/'), 'GetObject', row), 'ok');
    assert.equal(decide(from('https://bad.example.com/'), 'GetObject', row), 'Unauthenticated');
    assert.equal(decide(from('https://example.org/'), 'GetObject', row), 'Unauthenticated');
    assert.equal(decide(from(undefined), 'GetObject', row), 'Unauthenticated');
    assert.equal(decide(from('not a url'), 'GetObject', row), 'Unauthenticated');
  });
});

describe("referrer refusals (.r:-host) against the public flag and the grants", () => {
  const row = bucket({
    publicRead: true,
    grants: [
      { grantee: { kind: 'referrer', host: 'evil.example', deny: true }, permission: 'read-objects' },
      { grantee: { kind: 'referrer', host: '*' }, permission: 'list' },
      { grantee: { kind: 'user', userId: 'u-outsider' }, permission: 'read-objects' },
    ],
  });
  const evil = { ip: '203.0.113.7', referrer: 'https://evil.example/x' };
  test('an anonymous reader from a refused referrer: 401, for objects and listings', () => {
    assert.equal(decide(anonymous, 'GetObject', row, evil), 'Unauthenticated');
    assert.equal(decide(anonymous, 'ListObjects', row, evil), 'Unauthenticated');
    assert.equal(decide(anonymous, 'GetObject', row, { ip: '203.0.113.7', referrer: 'https://good.example/' }), 'ok');
    assert.equal(decide(anonymous, 'ListObjects', row, { ip: '203.0.113.7' }), 'ok');
  });
  test('a user the grants name still reads; another user from that referrer does not', () => {
    assert.equal(decide(outsider, 'GetObject', row, evil), 'ok');
    assert.equal(decide(user('u-third', 'project-c', 'admin'), 'GetObject', row, evil), 'AccessDenied');
    assert.equal(decide(admin, 'GetObject', row, evil), 'ok');
  });
});

describe('signed callers (temp URLs, FormPost): their scope and nothing more', () => {
  const signed = (target: { key: string } | { prefix: string }, actions: BucketAction[], bucketName = 'photos'): Caller => ({
    kind: 'anonymous',
    ip: '203.0.113.7',
    scope: { account: P, bucket: bucketName, target, actions },
  });
  const cases: [string, Caller, BucketAction, string | undefined, ErrorCode | 'ok'][] = [
    ['its object, its action', signed({ key: 'a.txt' }, ['GetObject']), 'GetObject', 'a.txt', 'ok'],
    ['another object', signed({ key: 'a.txt' }, ['GetObject']), 'GetObject', 'b.txt', 'Unauthenticated'],
    ['another action', signed({ key: 'a.txt' }, ['GetObject']), 'PutObject', 'a.txt', 'Unauthenticated'],
    ['no key named (a bucket-wide request)', signed({ key: 'a.txt' }, ['GetObject']), 'ListObjects', undefined, 'Unauthenticated'],
    ['another bucket', signed({ key: 'a.txt' }, ['GetObject'], 'other'), 'GetObject', 'a.txt', 'Unauthenticated'],
    ['under its prefix', signed({ prefix: 'dir/' }, ['PutObject']), 'PutObject', 'dir/x', 'ok'],
    ['outside its prefix', signed({ prefix: 'dir/' }, ['PutObject']), 'PutObject', 'other/x', 'Unauthenticated'],
  ];
  for (const [name, caller, action, key, expected] of cases) {
    test(name, () => {
      assert.equal(decide(caller, action, bucket(), undefined, key), expected);
    });
  }
  test('a missing bucket: refused as any anonymous caller is (nothing learnt of what exists)', () => {
    assert.equal(codeOf(() => authorize(signed({ key: 'a.txt' }, ['GetObject']), 'GetObject', { kind: 'bucket', account: P, bucket: null, key: 'a.txt' })), 'Unauthenticated');
  });
  test("a policy's Deny still applies", () => {
    const denied = bucket({ policy: [{ effect: 'Deny', principal: '*', actions: ['s3:GetObject'] }] });
    assert.equal(decide(signed({ key: 'a.txt' }, ['GetObject']), 'GetObject', denied, undefined, 'a.txt'), 'Unauthenticated');
  });
});

describe('bucket policies as data on the bucket', () => {
  const withPolicy = (...policy: PolicyStatement[]): BucketRow => bucket({ policy });
  test('an explicit Deny beats the role, for the named action and keys only', () => {
    const row = withPolicy({ effect: 'Deny', principal: '*', actions: ['s3:DeleteObject'], keys: ['logs/*'] });
    assert.equal(decide(admin, 'DeleteObject', row, undefined, 'logs/a'), 'AccessDenied');
    assert.equal(decide(admin, 'DeleteObject', row, undefined, 'data/a'), 'ok');
    assert.equal(decide(admin, 'PutObject', row, undefined, 'logs/a'), 'ok');
  });
  test("no policy locks the bucket's Storage Admins out of changing it (S3's root rule)", () => {
    const row = withPolicy({ effect: 'Deny', principal: '*', actions: ['s3:*'] });
    assert.equal(decide(admin, 'PutBucketPolicy', row), 'ok');
    assert.equal(decide(admin, 'PutBucketConfig', row), 'AccessDenied');
    assert.equal(decide(member, 'PutBucketPolicy', row), 'AccessDenied');
  });
  test('Deny beats an Allow, and a public flag', () => {
    const row = bucket({ publicRead: true, policy: [{ effect: 'Allow', principal: '*', actions: ['s3:Get*'] }, { effect: 'Deny', principal: '*', actions: ['s3:GetObject'], keys: ['secret/*'] }] });
    assert.equal(decide(anonymous, 'GetObject', row, undefined, 'secret/x'), 'Unauthenticated');
    assert.equal(decide(anonymous, 'GetObject', row, undefined, 'open/x'), 'ok');
    assert.equal(decide(anonymous, 'GetObjectVersion', row, undefined, 'open/x'), 'ok');
  });
  test('Allow by project, user, address and referrer conditions', () => {
    const row = withPolicy(
      { effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:ListObjects'] },
      { effect: 'Allow', principal: '*', actions: ['s3:GetObject'], conditions: { sourceIp: ['198.51.100.0/24'] } },
      { effect: 'Allow', principal: '*', actions: ['s3:GetObjectVersion'], conditions: { referer: ['https://site.example/*'] } },
      { effect: 'Allow', principal: { users: ['u-outsider'] }, actions: ['s3:PutObject'], conditions: { notSourceIp: ['192.0.2.0/24'] } },
    );
    assert.equal(decide(outsider, 'ListObjects', row), 'ok');
    assert.equal(decide(anonymous, 'ListObjects', row), 'Unauthenticated');
    assert.equal(decide(anonymous, 'GetObject', row, { ip: '198.51.100.9' }), 'ok');
    assert.equal(decide(anonymous, 'GetObject', row, { ip: '203.0.113.7' }), 'Unauthenticated');
    assert.equal(decide(anonymous, 'GetObjectVersion', row, { ip: '203.0.113.7', referrer: 'https://site.example/a' }), 'ok');
    assert.equal(decide(anonymous, 'GetObjectVersion', row, { ip: '203.0.113.7', referrer: 'https://evil.example/a' }), 'Unauthenticated');
    assert.equal(decide(outsider, 'PutObject', row, { ip: '203.0.113.7' }), 'ok');
    assert.equal(decide(outsider, 'PutObject', row, { ip: '192.0.2.5' }), 'AccessDenied');
  });
  test("the root rule covers reading and deleting the policy too, for the bucket's Storage Admins only", () => {
    const row = withPolicy({ effect: 'Deny', principal: '*', actions: ['s3:*'] });
    assert.equal(decide(admin, 'GetBucketPolicy', row), 'ok');
    assert.equal(decide(admin, 'DeleteBucketPolicy', row), 'ok');
    assert.equal(decide(admin, 'GetBucketPolicyStatus', row), 'AccessDenied');
    assert.equal(decide(member, 'DeleteBucketPolicy', row), 'AccessDenied');
    assert.equal(decide(member, 'GetBucketPolicy', row), 'AccessDenied');
  });
  test('keys with `bucket`: the bucket itself and the keys named; keys alone: not the bucket', () => {
    const both = withPolicy({ effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:ListObjects', 's3:GetObject'], keys: ['pub/*'], bucket: true });
    assert.equal(decide(outsider, 'ListObjects', both), 'ok');
    assert.equal(decide(outsider, 'GetObject', both, undefined, 'pub/a'), 'ok');
    assert.equal(decide(outsider, 'GetObject', both, undefined, 'priv/a'), 'AccessDenied');
    const keysOnly = withPolicy({ effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:ListObjects', 's3:GetObject'], keys: ['*'] });
    assert.equal(decide(outsider, 'ListObjects', keysOnly), 'AccessDenied');
    assert.equal(decide(outsider, 'GetObject', keysOnly, undefined, 'any'), 'ok');
    const bucketOnly = withPolicy({ effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:ListObjects', 's3:GetObject'], keys: [], bucket: true });
    assert.equal(decide(outsider, 'ListObjects', bucketOnly), 'ok');
    assert.equal(decide(outsider, 'GetObject', bucketOnly, undefined, 'any'), 'AccessDenied');
  });
  test('NotPrincipal, NotAction, NotResource: all but what they name', () => {
    const row = withPolicy(
      { effect: 'Deny', principal: { users: ['u-admin'] }, except: { principal: true }, actions: ['s3:DeleteObject'] },
      { effect: 'Deny', principal: '*', actions: ['s3:GetObject', 's3:ListObjects'], except: { actions: true }, keys: ['frozen/*'] },
      { effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:GetObject'], keys: ['secret/*'], except: { resources: true } },
    );
    assert.equal(decide(admin, 'DeleteObject', row, undefined, 'a'), 'ok');
    assert.equal(decide(member, 'DeleteObject', row, undefined, 'a'), 'AccessDenied');
    assert.equal(decide(member, 'PutObject', row, undefined, 'frozen/a'), 'AccessDenied');
    assert.equal(decide(member, 'GetObject', row, undefined, 'frozen/a'), 'ok');
    assert.equal(decide(member, 'PutObject', row, undefined, 'open/a'), 'ok');
    assert.equal(decide(outsider, 'GetObject', row, undefined, 'open/a'), 'ok');
    assert.equal(decide(outsider, 'GetObject', row, undefined, 'secret/a'), 'AccessDenied');
  });
  test('StringEquals on the referrer is exact; SecureTransport looks at how the request came', () => {
    const row = withPolicy(
      { effect: 'Allow', principal: '*', actions: ['s3:GetObject'], conditions: { refererEquals: ['https://site.example/*'] } },
      { effect: 'Deny', principal: '*', actions: ['s3:*'], conditions: { secureTransport: false } },
    );
    assert.equal(decide(anonymous, 'GetObject', row, { ip: '203.0.113.7', referrer: 'https://site.example/*', secure: true }, 'k'), 'ok');
    assert.equal(decide(anonymous, 'GetObject', row, { ip: '203.0.113.7', referrer: 'https://site.example/a', secure: true }, 'k'), 'Unauthenticated');
    assert.equal(decide(member, 'PutObject', row, { ip: '203.0.113.7', secure: true }, 'k'), 'ok');
    assert.equal(decide(member, 'PutObject', row, { ip: '203.0.113.7' }, 'k'), 'AccessDenied');
    assert.equal(decide(member, 'PutObject', row, { ip: '203.0.113.7', secure: false }, 'k'), 'AccessDenied');
  });
  test('a caller an Allow names learns the bucket exists (its refusals say so); others do not', () => {
    const row = withPolicy({ effect: 'Allow', principal: { projects: [Q] }, actions: ['s3:GetObject'], keys: ['*'] }, { effect: 'Deny', principal: { users: ['u-outsider'] }, actions: ['s3:GetObjectVersion'], keys: ['*'] });
    const visible = (caller: Caller, action: BucketAction): unknown => {
      try {
        authorize(caller, action, { kind: 'bucket', account: P, bucket: row, key: 'k' });
      } catch (err) {
        return (err as { detail: { bucketVisible?: boolean } }).detail.bucketVisible === true;
      }
      return 'allowed';
    };
    assert.equal(visible(outsider, 'PutObject'), true);
    assert.equal(visible(outsider, 'GetObjectVersion'), true);
    assert.equal(visible(user('u-third', 'project-c', 'admin'), 'GetObject'), false);
  });
});

describe('account actions (project roles)', () => {
  const allowed: Record<(typeof ACCOUNT_ACTIONS)[number], readonly Caller[]> = {
    ListBuckets: [admin, member, reader],
    PutAccountMetadata: [admin],
    CreateBucket: [admin, member],
  };
  for (const action of ACCOUNT_ACTIONS) {
    for (const caller of [admin, member, reader, outsider, anonymous]) {
      const name = caller.kind === 'anonymous' ? 'anonymous' : caller.userId;
      test(`${name}: ${action}`, () => {
        const expected = caller.kind === 'anonymous' ? 'Unauthenticated' : allowed[action].includes(caller) ? 'ok' : 'AccessDenied';
        assert.equal(
          codeOf(() => {
            authorize(caller, action, { kind: 'account', account: P });
          }),
          expected,
        );
      });
    }
  }
});

describe('account grants (Swift account ACLs) of a caller of another project', () => {
  const outsiderUser = { kind: 'user', userId: 'u-outsider', userName: 'u-outsider', projectId: Q, role: 'admin', accessKeyId: 'key-u-outsider' } as const;
  const withLevel = (level: 'read-only' | 'read-write' | 'admin', account = P): Caller => ({ ...outsiderUser, accountAccess: { [account]: level } });
  const PRIVILEGED = new Set<BucketAction>(['GetBucketAcl', 'GetObjectAcl', 'GetBucketPolicy']);
  const expectations: [string, Caller, ReadonlySet<BucketAction>, readonly string[]][] = [
    ['read-only', withLevel('read-only'), new Set([...VIEWER].filter((a) => !PRIVILEGED.has(a))), ['ListBuckets']],
    ['read-write', withLevel('read-write'), new Set([...EDITOR, 'PutBucketConfig', 'PutBucketVersioning', 'PutBucketCORS', 'PutLifecycleConfiguration', 'PutEncryptionConfiguration', 'PutBucketLogging', 'DeleteBucket'].filter((a) => !PRIVILEGED.has(a as BucketAction)) as BucketAction[]), ['ListBuckets', 'CreateBucket']],
    ['admin', withLevel('admin'), new Set(ALL_BUCKET_ACTIONS), ['ListBuckets', 'CreateBucket', 'PutAccountMetadata']],
    ['a grant in another account', withLevel('admin', 'project-c'), new Set(), []],
  ];
  for (const [name, caller, bucketAllowed, accountAllowed] of expectations) {
    test(`${name}: bucket actions`, () => {
      for (const action of ALL_BUCKET_ACTIONS) assert.equal(decide(caller, action, bucket()), bucketAllowed.has(action) ? 'ok' : 'AccessDenied', action);
    });
    test(`${name}: account actions`, () => {
      for (const action of ACCOUNT_ACTIONS) {
        const got = codeOf(() => {
          authorize(caller, action, { kind: 'account', account: P });
        });
        assert.equal(got, accountAllowed.includes(action) ? 'ok' : 'AccessDenied', action);
      }
    });
  }
  test('a grantee learns whether a bucket of the account exists; a policy Deny still applies', () => {
    assert.equal(decide(withLevel('read-only'), 'GetObject', null), 'NoSuchBucket');
    assert.equal(decide(outsider, 'GetObject', null), 'AccessDenied');
    const denied = bucket({ policy: [{ effect: 'Deny', principal: '*', actions: ['s3:GetObject'] }] });
    assert.equal(decide(withLevel('admin'), 'GetObject', denied, undefined, 'k'), 'AccessDenied');
  });
  test('accountLevelOf: the strongest level among the grants that name the caller', () => {
    const grants = [
      { grantee: { kind: 'project' as const, projectId: Q }, level: 'read-only' as const },
      { grantee: { kind: 'user' as const, userId: 'u-outsider' }, level: 'read-write' as const },
      { grantee: { kind: 'user' as const, userId: 'someone-else' }, level: 'admin' as const },
    ];
    assert.equal(accountLevelOf(grants, outsider), 'read-write');
    assert.equal(accountLevelOf(grants.slice(0, 1), outsider), 'read-only');
    assert.equal(accountLevelOf(grants.slice(2), outsider), undefined);
    assert.equal(accountLevelOf(grants, anonymous), undefined);
  });
});

describe("a user's own credentials (Keystone's owner rule)", () => {
  const restricted = user('u-1', P, 'member');
  const unrestricted = user('u-1', P, 'member', true);
  const cases: [string, Caller, 'ListOwnProjects' | 'ListAccessKeys' | 'CreateAccessKey' | 'DeleteAccessKey', string, ErrorCode | 'ok'][] = [
    ['own projects', restricted, 'ListOwnProjects', 'u-1', 'ok'],
    ['own keys', restricted, 'ListAccessKeys', 'u-1', 'ok'],
    ["another user's keys", restricted, 'ListAccessKeys', 'u-2', 'AccessDenied'],
    ['a restricted key creates none', restricted, 'CreateAccessKey', 'u-1', 'AccessDenied'],
    ['a restricted key deletes none', restricted, 'DeleteAccessKey', 'u-1', 'AccessDenied'],
    ['an unrestricted key creates', unrestricted, 'CreateAccessKey', 'u-1', 'ok'],
    ["an unrestricted key, another user's", unrestricted, 'CreateAccessKey', 'u-2', 'AccessDenied'],
    ['anonymous', anonymous, 'ListAccessKeys', 'u-1', 'Unauthenticated'],
  ];
  for (const [name, caller, action, userId, expected] of cases) {
    test(name, () => {
      assert.equal(
        codeOf(() => {
          authorize(caller, action, { kind: 'user', userId });
        }),
        expected,
      );
    });
  }
});
