/** S3 clients for the tests: the key pair a test server printed at its first start, and an SDK client signed with it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, S3Client, UploadPartCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { RunningServer } from './server.ts';

export interface S3KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The S3 key pair the server printed at its first start. */
export function printedS3Keys(server: RunningServer): S3KeyPair {
  const access = /S3 access key ID: +(\S+)/.exec(server.output())?.[1];
  const secret = /S3 secret access key: +(\S+)/.exec(server.output())?.[1];
  if (!access || !secret) throw new Error(`the server printed no S3 key pair:\n${server.output()}`);
  return { accessKeyId: access, secretAccessKey: secret };
}

/** The newest SDK as users run it, its defaults (checksums on) untouched; path-style, any region. */
export function s3Client(server: RunningServer, keys: S3KeyPair = printedS3Keys(server), options: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ endpoint: server.url, region: 'kr-central-2', forcePathStyle: true, credentials: keys, maxAttempts: 1, ...options });
}

/** A request signed by AWS's own SigV4 signer (@smithy/signature-v4), for requests the SDK would not send. */
export async function signedFetch(
  server: { url: string },
  keys: S3KeyPair,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; payloadHash?: string; query?: Record<string, string> } = {},
): Promise<Response> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const url = new URL(server.url);
  const signer = new SignatureV4({ service: 's3', region: 'kr-central-2', credentials: keys, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const body = options.body ?? '';
  const payloadHash = options.payloadHash ?? createHash('sha256').update(body).digest('hex');
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: options.query ?? {},
    headers: { host: url.host, 'x-amz-content-sha256': payloadHash, ...options.headers },
    body,
  });
  const query = new URLSearchParams(options.query ?? {}).toString();
  return fetch(`${server.url}${path}${query ? `?${query}` : ''}`, {
    method,
    headers: signed.headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
  });
}

/** Runs Debian's awscli against the server with its printed key pair and no config files (`home`: its HOME); stdout. */
export async function runAwsCli(server: RunningServer, home: string, args: string[]): Promise<string> {
  const keys = printedS3Keys(server);
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: 'kr-central-2',
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_PAGER: '',
  };
  const child = spawn('/usr/bin/aws', ['--endpoint-url', server.url, '--no-cli-pager', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`aws ${args.join(' ')} exited ${String(code)}: ${stderr}`);
  return stdout;
}

/** What an SDK call answered: 200 and `ok`, or the error's HTTP status and S3 code. */
export async function s3Outcome(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string }> {
  try {
    await promise;
    return { status: 200, code: 'ok' };
  } catch (err) {
    const e = err as { $metadata?: { httpStatusCode?: number }; Code?: string; name: string };
    return { status: e.$metadata?.httpStatusCode, code: e.Code ?? e.name };
  }
}

/** The HTTP status and S3 code of an SDK call that must fail. */
export async function s3Failure(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const { status, code } = await s3Outcome(promise);
  if (code === 'ok') assert.fail('expected the request to fail');
  return { status: status ?? 0, code };
}

/** A multipart upload of `parts` (in order) with an SDK client of its own, completed. */
export async function uploadInParts(server: RunningServer, bucket: string, key: string, parts: Buffer[]): Promise<void> {
  const s3 = s3Client(server);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const listed: { ETag: string; PartNumber: number }[] = [];
  for (const [index, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: body }));
    listed.push({ ETag: ETag ?? '', PartNumber: index + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: listed } }));
  s3.destroy();
}
