/**
 * core/bucket-policy.ts: S3 policy documents read into core's statements. The statements expected are written out
 * from AWS's policy language (IAM action names to core's, resources, principals, conditions), not derived from the
 * module's table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBucketPolicy, policyIsPublic } from '../../src/core/bucket-policy.ts';
import { MAX_BUCKET_POLICY_BYTES } from '../../src/core/constraints.ts';
import { isOnggiError } from '../../src/core/errors.ts';

const B = 'photos';

function parse(document: unknown): ReturnType<typeof parseBucketPolicy> {
  return parseBucketPolicy(typeof document === 'string' ? document : JSON.stringify(document), B);
}

function statementOf(statement: Record<string, unknown>): ReturnType<typeof parseBucketPolicy>['statements'][number] {
  const [only] = parse({ Version: '2012-10-17', Statement: statement }).statements;
  assert.ok(only);
  return only;
}

/** The MalformedPolicy message a document is refused with. */
function refusal(document: unknown): string {
  try {
    parse(document);
  } catch (err) {
    if (isOnggiError(err) && err.code === 'MalformedPolicy') return err.message;
    throw err;
  }
  return assert.fail('the policy was accepted');
}

const publicRead = { Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` };

describe('documents as AWS writes them', () => {
  test('public read: everyone, GetObject, every key but not the bucket itself', () => {
    assert.deepEqual(statementOf(publicRead), { effect: 'Allow', principal: '*', actions: ['s3:GetObject'], keys: ['*'] });
  });

  test('IAM actions become core actions: ListBucket is listing and HEAD, version tagging is tagging; names are case-insensitive', () => {
    const made = statementOf({ Effect: 'Allow', Principal: { AWS: '*' }, Action: ['s3:listbucket', 's3:ListBucketVersions', 's3:GetObjectVersionTagging'], Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] });
    assert.deepEqual(made.actions.sort(), ['s3:GetObjectTagging', 's3:HeadBucket', 's3:ListObjectVersions', 's3:ListObjects']);
    assert.deepEqual(made.keys, ['*']);
    assert.equal(made.bucket, true);
  });

  test('wildcards expand over S3 action names; s3:* stays whole', () => {
    const lists = statementOf({ Effect: 'Deny', Principal: '*', Action: 's3:List*', Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] });
    assert.deepEqual(lists.actions.sort(), ['s3:HeadBucket', 's3:ListMultipartUploadParts', 's3:ListMultipartUploads', 's3:ListObjectVersions', 's3:ListObjects']);
    assert.deepEqual(statementOf({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${B}` }).actions, ['s3:*']);
  });

  test('principals: ARNs and bare ids of projects and users', () => {
    const made = parse({
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::p1:root', 'p2', 'arn:aws:iam::p3:user/u3', 'p4:u4'], CanonicalUser: 'p5' },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${B}/docs/*`,
      },
    });
    assert.deepEqual(made.statements[0]?.principal, { projects: ['p1', 'p2', 'p5'], users: ['u3', 'u4'] });
    assert.deepEqual(made.statements[0]?.keys, ['docs/*']);
    assert.deepEqual(made.principals, [
      { kind: 'project', projectId: 'p1' },
      { kind: 'project', projectId: 'p2' },
      { kind: 'user', userId: 'u3', projectId: 'p3' },
      { kind: 'user', userId: 'u4', projectId: 'p4' },
      { kind: 'project', projectId: 'p5' },
    ]);
  });

  test('NotPrincipal, NotAction, NotResource', () => {
    const made = statementOf({ Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::p1:root' }, NotAction: 's3:GetObject', NotResource: `arn:aws:s3:::${B}/public/*` });
    assert.deepEqual(made, { effect: 'Deny', principal: { projects: ['p1'] }, actions: ['s3:GetObject'], keys: ['public/*'], except: { principal: true, actions: true, resources: true } });
  });

  test('conditions: addresses, referrers, secure transport', () => {
    const made = statementOf({
      ...publicRead,
      Condition: {
        IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] },
        NotIpAddress: { 'aws:sourceip': '192.0.2.7' },
        StringLike: { 'aws:Referer': 'https://site.example/*' },
        StringEquals: { 'aws:Referer': ['https://a.example/'] },
        Bool: { 'aws:SecureTransport': 'true' },
      },
    });
    assert.deepEqual(made.conditions, {
      sourceIp: ['192.0.2.0/24', '2001:db8::/32'],
      notSourceIp: ['192.0.2.7'],
      referer: ['https://site.example/*'],
      refererEquals: ['https://a.example/'],
      secureTransport: true,
    });
  });

  test('Version 2008-10-17, an Id, several statements', () => {
    const made = parse({ Version: '2008-10-17', Id: 'p', Statement: [publicRead, { ...publicRead, Sid: 'Other', Effect: 'Deny', Resource: `arn:aws:s3:::${B}/x/*` }] });
    assert.equal(made.statements.length, 2);
  });

  test('actions of operations not served here are accepted and change nothing', () => {
    assert.deepEqual(statementOf({ Effect: 'Allow', Principal: '*', Action: 's3:PutBucketWebsite', Resource: `arn:aws:s3:::${B}` }).actions, []);
  });
});

describe('refused with MalformedPolicy, saying why', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{"Statement": [', /invalid Json/],
    ['a bad Effect', { Statement: { ...publicRead, Effect: 'Permit' } }, /Invalid effect/],
    ['an unknown action', { Statement: { ...publicRead, Action: 's3:GetObjekt' } }, /invalid action: s3:GetObjekt/],
    ['another service', { Statement: { ...publicRead, Action: 'iam:PassRole' } }, /invalid action/],
    ['another bucket', { Statement: { ...publicRead, Resource: 'arn:aws:s3:::other/*' } }, /Policy has invalid resource/],
    ['not an S3 ARN', { Statement: { ...publicRead, Resource: 'photos/*' } }, /Policy has invalid resource/],
    ['a wildcard bucket name', { Statement: { ...publicRead, Resource: 'arn:aws:s3:::pho*/*' } }, /wildcards in the bucket name/],
    ['a policy variable', { Statement: { ...publicRead, Resource: `arn:aws:s3:::${B}/\${aws:username}/*` } }, /policy variables/],
    ['an unknown condition operator', { Statement: { ...publicRead, Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } } }, /Invalid Condition type: DateGreaterThan/],
    ['an unknown condition key', { Statement: { ...publicRead, Condition: { StringEquals: { 's3:prefix': 'home/' } } } }, /invalid condition key: s3:prefix/],
    ['IfExists', { Statement: { ...publicRead, Condition: { IpAddressIfExists: { 'aws:SourceIp': '192.0.2.0/24' } } } }, /Invalid Condition type/],
    ['a bad address', { Statement: { ...publicRead, Condition: { IpAddress: { 'aws:SourceIp': '300.1.1.1' } } } }, /Invalid IP address/],
    ['no Principal', { Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` } }, /Missing required field Principal/],
    ['a Service principal', { Statement: { ...publicRead, Principal: { Service: 'cloudfront.amazonaws.com' } } }, /Invalid principal/],
    ['an object action on the bucket alone', { Statement: { ...publicRead, Resource: `arn:aws:s3:::${B}` } }, /does not apply to any resource/],
    ['an unknown field', { Statement: { ...publicRead, Effects: 'Allow' } }, /invalid field: Effects/],
    ['a bad Version', { Version: '2024-01-01', Statement: publicRead }, /invalid Version/],
    ['Action and NotAction', { Statement: { ...publicRead, NotAction: 's3:PutObject' } }, /both Action and NotAction/],
    ['a Sid twice', { Statement: [publicRead, publicRead] }, /must be unique/],
    ['no statement', { Version: '2012-10-17', Statement: [] }, /Missing required field Statement/],
  ];
  for (const [name, document, message] of cases) {
    test(name, () => {
      assert.match(refusal(document), message);
    });
  }
  test(`a document over ${MAX_BUCKET_POLICY_BYTES} bytes`, () => {
    const sids = Array.from({ length: 200 }, (_, i) => ({ ...publicRead, Sid: `s${i}`, Resource: `arn:aws:s3:::${B}/${'k'.repeat(80)}${i}/*` }));
    assert.match(refusal({ Statement: sids }), /maximum allowed document size/);
  });
});

describe('IsPublic (S3: everyone allowed without a limit to addresses)', () => {
  const statements = (statement: Record<string, unknown>): ReturnType<typeof parseBucketPolicy>['statements'] => parse({ Statement: statement }).statements;
  test('public read is public; a referrer or TLS condition does not change that', () => {
    assert.equal(policyIsPublic(statements(publicRead)), true);
    assert.equal(policyIsPublic(statements({ ...publicRead, Condition: { StringLike: { 'aws:Referer': 'https://site.example/*' } } })), true);
    assert.equal(policyIsPublic(statements({ ...publicRead, Condition: { Bool: { 'aws:SecureTransport': true } } })), true);
  });
  test('limited to addresses, denying, or naming a project: not public', () => {
    assert.equal(policyIsPublic(statements({ ...publicRead, Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } })), false);
    assert.equal(policyIsPublic(statements({ ...publicRead, Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } })), true);
    assert.equal(policyIsPublic(statements({ ...publicRead, Effect: 'Deny' })), false);
    assert.equal(policyIsPublic(statements({ ...publicRead, Principal: { AWS: 'arn:aws:iam::p1:root' } })), false);
    assert.equal(policyIsPublic(statements({ ...publicRead, Principal: undefined, NotPrincipal: { AWS: 'p1' } })), true);
  });
});
