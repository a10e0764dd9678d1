/** Object and bucket tagging (`?tagging`) on core.tagging: S3's `Tagging` documents both ways. */
import type { Tag } from '../../core/constraints.ts';
import { readConfigBody } from './config-body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { refOf } from './object-ops.ts';
import { buildXml } from './xml.ts';

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema';

export async function getObjectTagging(bucket: string, key: string, x: Exchange): Promise<void> {
  const { versionId, tags } = await x.ctx.core.tagging.getObjectTags(x.caller, refOf(x, bucket, key));
  sendXml(x.res, 200, taggingXml(tags), versionHeader(versionId));
}

export async function putObjectTagging(bucket: string, key: string, x: Exchange): Promise<void> {
  const tags = tagsOfDocument(await readConfigBody(x));
  const { versionId } = await x.ctx.core.tagging.putObjectTags(x.caller, refOf(x, bucket, key), tags);
  sendEmpty(x.res, 200, versionHeader(versionId));
}

export async function deleteObjectTagging(bucket: string, key: string, x: Exchange): Promise<void> {
  const { versionId } = await x.ctx.core.tagging.deleteObjectTags(x.caller, refOf(x, bucket, key));
  sendEmpty(x.res, 204, versionHeader(versionId));
}

export async function getBucketTagging(bucket: string, x: Exchange): Promise<void> {
  const tags = await x.ctx.core.tagging.getBucketTags(x.caller, x.account, bucket);
  sendXml(x.res, 200, taggingXml(tags));
}

export async function putBucketTagging(bucket: string, x: Exchange): Promise<void> {
  const tags = tagsOfDocument(await readConfigBody(x));
  await x.ctx.core.tagging.putBucketTags(x.caller, x.account, bucket, tags);
  sendEmpty(x.res, 204);
}

export async function deleteBucketTagging(bucket: string, x: Exchange): Promise<void> {
  await x.ctx.core.tagging.deleteBucketTags(x.caller, x.account, bucket);
  sendEmpty(x.res, 204);
}

function versionHeader(versionId: string): Record<string, string> {
  return versionId === 'null' ? {} : { 'x-amz-version-id': versionId };
}

export function taggingXml(tags: readonly Tag[]): string {
  return buildXml('Tagging', { TagSet: tags.length === 0 ? '' : { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } });
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`; core checks the tags themselves (InvalidTag). */
export function tagsOfDocument(parsed: Record<string, unknown>): Tag[] {
  const root = parsed.Tagging;
  if (root === undefined || root === null || typeof root !== 'object' || !('TagSet' in root)) throw new S3Error('MalformedXML', 400, MALFORMED);
  const set = root.TagSet;
  if (set === '' || set === null) return [];
  if (typeof set !== 'object') throw new S3Error('MalformedXML', 400, MALFORMED);
  const tags = (set as { Tag?: unknown }).Tag ?? [];
  if (!Array.isArray(tags)) throw new S3Error('MalformedXML', 400, MALFORMED);
  return tags.map((tag: unknown) => {
    const { Key: key, Value: value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string') throw new S3Error('MalformedXML', 400, MALFORMED);
    return { key, value };
  });
}
