/**
 * `POST /v1_ext/bucket/{name}/temp_url`: a Swift temp URL for reading one object, signed by the server for a
 * caller who may read that object, so that the console never holds a signing key. The key is the container's
 * (`X-Container-Meta-Temp-URL-Key`, then `-Key-2`), else the account's; a bucket with none gets a new container
 * key only when the caller asks for one (`create_key`) and may set the container's metadata.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { allows } from '../../core/authz.ts';
import type { Caller, Metadata } from '../../core/types.ts';
import type { RequestContext } from '../../http/context.ts';
import { SIGNING_KEY_NAMES, tempUrlQuery } from '../swift/tempurl.ts';

/** A week, as S3 bounds a presigned URL (Swift sets no bound of its own). */
export const MAX_TEMP_LINK_SECONDS = 7 * 24 * 3600;

export const tempLinkSchema = z.object({
  object: z.string().min(1),
  expires_in: z.number().int().min(1).max(MAX_TEMP_LINK_SECONDS),
  create_key: z.boolean().optional(),
});

export type TempLinkResult =
  | { kind: 'signed'; path: string; query: string; expiresAt: number }
  /** No key to sign with: whether this caller may make the container's. */
  | { kind: 'no-key'; mayCreate: boolean };

export async function signTempLink(ctx: RequestContext, caller: Caller, account: string, bucketName: string, asked: z.infer<typeof tempLinkSchema>): Promise<TempLinkResult> {
  const { core } = ctx;
  // Authorizes the read (GetObject) and answers 404 for an object that is not there.
  await core.objects.head(caller, { account, bucket: bucketName, key: asked.object }, {});
  const [bucket, project] = await Promise.all([core.buckets.row(account, bucketName), core.directory.getProject(account)]);
  let key = firstKey(bucket?.meta) ?? firstKey(project?.meta);
  if (key === undefined) {
    const mayCreate = bucket !== null && allows(caller, 'PutBucketMetadata', bucket);
    if (!asked.create_key) return { kind: 'no-key', mayCreate };
    key = await core.buckets.setMetadataIfAbsent(caller, account, bucketName, SIGNING_KEY_NAMES[0], randomBytes(32).toString('hex'));
  }
  const expires = Math.floor(Date.now() / 1000) + asked.expires_in;
  const path = `/v1/${[account, bucketName, ...asked.object.split('/')].map(encodeURIComponent).join('/')}`;
  return { kind: 'signed', path, query: tempUrlQuery(key, 'GET', expires, { account, container: bucketName, key: asked.object }), expiresAt: expires * 1000 };
}

function firstKey(meta: Metadata | undefined): string | undefined {
  for (const name of SIGNING_KEY_NAMES) {
    const key = meta?.[name];
    if (key) return key;
  }
  return undefined;
}
