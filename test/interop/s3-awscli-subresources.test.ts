/** Debian's awscli on the configuration subresources: `aws s3api` tagging, Object Lock, lifecycle, CORS and encryption calls. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, startServer, type RunningServer } from '../helpers/server.ts';
import { runAwsCli } from '../helpers/s3.ts';

let server: RunningServer;
let home: string;

before(async () => {
  server = await startServer();
  home = await makeTempDir('onggi-awscli-sub-');
});
after(async () => {
  await server.destroy();
  await removeDir(home);
});

/** Runs `aws s3api …` and parses its JSON output (none: null); a failure rejects with its stderr. */
async function s3api(...args: string[]): Promise<Record<string, unknown> | null> {
  const stdout = await runAwsCli(server, home, ['s3api', ...args]);
  return stdout.trim() === '' ? null : (JSON.parse(stdout) as Record<string, unknown>);
}

describe('awscli (Debian) on the configuration subresources', () => {
  test('object and bucket tagging', async () => {
    await s3api('create-bucket', '--bucket', 'cli-tags');
    await s3api('put-object', '--bucket', 'cli-tags', '--key', 'k', '--tagging', 'a=1&b=two');
    assert.deepEqual((await s3api('get-object-tagging', '--bucket', 'cli-tags', '--key', 'k'))?.TagSet, [{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two' }]);
    await s3api('put-object-tagging', '--bucket', 'cli-tags', '--key', 'k', '--tagging', 'TagSet=[{Key=c,Value=3}]');
    assert.deepEqual((await s3api('get-object-tagging', '--bucket', 'cli-tags', '--key', 'k'))?.TagSet, [{ Key: 'c', Value: '3' }]);
    await s3api('delete-object-tagging', '--bucket', 'cli-tags', '--key', 'k');
    assert.deepEqual((await s3api('get-object-tagging', '--bucket', 'cli-tags', '--key', 'k'))?.TagSet, []);
    await s3api('put-bucket-tagging', '--bucket', 'cli-tags', '--tagging', 'TagSet=[{Key=env,Value=test}]');
    assert.deepEqual((await s3api('get-bucket-tagging', '--bucket', 'cli-tags'))?.TagSet, [{ Key: 'env', Value: 'test' }]);
    await s3api('delete-bucket-tagging', '--bucket', 'cli-tags');
    await assert.rejects(s3api('get-bucket-tagging', '--bucket', 'cli-tags'), /NoSuchTagSet/);
  });

  test('Object Lock: a bucket made with it, retention and legal hold', async () => {
    await s3api('create-bucket', '--bucket', 'cli-lock', '--object-lock-enabled-for-bucket');
    await s3api('put-object-lock-configuration', '--bucket', 'cli-lock', '--object-lock-configuration', 'ObjectLockEnabled=Enabled,Rule={DefaultRetention={Mode=GOVERNANCE,Days=1}}');
    const config = await s3api('get-object-lock-configuration', '--bucket', 'cli-lock');
    assert.deepEqual(config?.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } });
    const put = await s3api('put-object', '--bucket', 'cli-lock', '--key', 'k');
    const versionId = String(put?.VersionId);
    assert.equal(((await s3api('get-object-retention', '--bucket', 'cli-lock', '--key', 'k'))?.Retention as { Mode?: string } | undefined)?.Mode, 'GOVERNANCE');
    await assert.rejects(s3api('delete-object', '--bucket', 'cli-lock', '--key', 'k', '--version-id', versionId), /AccessDenied/);
    await s3api('put-object-legal-hold', '--bucket', 'cli-lock', '--key', 'k', '--legal-hold', 'Status=ON');
    assert.deepEqual((await s3api('get-object-legal-hold', '--bucket', 'cli-lock', '--key', 'k'))?.LegalHold, { Status: 'ON' });
    await assert.rejects(s3api('delete-object', '--bucket', 'cli-lock', '--key', 'k', '--version-id', versionId, '--bypass-governance-retention'), /AccessDenied/);
    await s3api('put-object-legal-hold', '--bucket', 'cli-lock', '--key', 'k', '--legal-hold', 'Status=OFF');
    await s3api('delete-object', '--bucket', 'cli-lock', '--key', 'k', '--version-id', versionId, '--bypass-governance-retention');
  });

  test('bucket policy: put from a file, get it back as written, its status, delete', async () => {
    await s3api('create-bucket', '--bucket', 'cli-policy');
    const document = `{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::cli-policy/*"}]
}`;
    const file = join(home, 'policy.json');
    await writeFile(file, document);
    await s3api('put-bucket-policy', '--bucket', 'cli-policy', '--policy', `file://${file}`);
    assert.equal((await s3api('get-bucket-policy', '--bucket', 'cli-policy'))?.Policy, document);
    assert.deepEqual((await s3api('get-bucket-policy-status', '--bucket', 'cli-policy'))?.PolicyStatus, { IsPublic: true });
    await s3api('put-object', '--bucket', 'cli-policy', '--key', 'k', '--body', file);
    assert.equal((await fetch(`${server.url}/cli-policy/k`)).status, 200, 'read anonymously');
    await writeFile(file, document.replace('cli-policy/*', 'another-bucket/*'));
    await assert.rejects(s3api('put-bucket-policy', '--bucket', 'cli-policy', '--policy', `file://${file}`), /MalformedPolicy/);
    await s3api('delete-bucket-policy', '--bucket', 'cli-policy');
    await assert.rejects(s3api('get-bucket-policy', '--bucket', 'cli-policy'), /NoSuchBucketPolicy/);
  });

  test('lifecycle, CORS and encryption', async () => {
    await s3api('create-bucket', '--bucket', 'cli-config');
    const rules = [{ ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }];
    const lifecycle = JSON.stringify({ Rules: rules });
    await s3api('put-bucket-lifecycle-configuration', '--bucket', 'cli-config', '--lifecycle-configuration', lifecycle);
    assert.deepEqual((await s3api('get-bucket-lifecycle-configuration', '--bucket', 'cli-config'))?.Rules, rules);
    await s3api('delete-bucket-lifecycle', '--bucket', 'cli-config');
    await assert.rejects(s3api('get-bucket-lifecycle-configuration', '--bucket', 'cli-config'), /NoSuchLifecycleConfiguration/);

    const cors = JSON.stringify({ CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }] });
    await s3api('put-bucket-cors', '--bucket', 'cli-config', '--cors-configuration', cors);
    assert.deepEqual((await s3api('get-bucket-cors', '--bucket', 'cli-config'))?.CORSRules, [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }]);
    await s3api('delete-bucket-cors', '--bucket', 'cli-config');
    await assert.rejects(s3api('get-bucket-cors', '--bucket', 'cli-config'), /NoSuchCORSConfiguration/);

    const sse = JSON.stringify({ Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    await s3api('put-bucket-encryption', '--bucket', 'cli-config', '--server-side-encryption-configuration', sse);
    const got = await s3api('get-bucket-encryption', '--bucket', 'cli-config');
    assert.match(JSON.stringify(got), /AES256/);
    await s3api('delete-bucket-encryption', '--bucket', 'cli-config');
    await assert.rejects(s3api('get-bucket-encryption', '--bucket', 'cli-config'), /ServerSideEncryptionConfigurationNotFoundError/);
  });
});
