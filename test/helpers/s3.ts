/** S3 clients for the tests: the key pair a test server printed at its first start, and an SDK client signed with it. */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
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
