/** Bucket policies: S3's JSON documents (core's bucket-policy.ts reads them), kept and answered as their author wrote them. */
import { readConfigBytes } from './config-body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { buildXml } from './xml.ts';

/** Room above core's 20 KB limit, so a document a little too large is told so (MalformedPolicy) rather than cut off. */
const POLICY_BODY_LIMIT = 64 * 1024;

export async function getBucketPolicy(bucket: string, x: Exchange): Promise<void> {
  const document = Buffer.from(await x.ctx.core.buckets.getPolicy(x.caller, x.account, bucket), 'utf8');
  x.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': document.length });
  x.res.end(document);
}

export async function putBucketPolicy(bucket: string, x: Exchange): Promise<void> {
  const body = await readConfigBytes(x, { limit: POLICY_BODY_LIMIT });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new S3Error('MalformedPolicy', 400, 'This policy contains invalid Json: it is not UTF-8');
  }
  await x.ctx.core.buckets.putPolicy(x.caller, x.account, bucket, text);
  sendEmpty(x.res, 204);
}

/** 204 whether or not there was a policy, as S3 answers. */
export async function deleteBucketPolicy(bucket: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.setPolicy(x.caller, x.account, bucket, []);
  sendEmpty(x.res, 204);
}

export async function getBucketPolicyStatus(bucket: string, x: Exchange): Promise<void> {
  const { isPublic } = await x.ctx.core.buckets.policyStatus(x.caller, x.account, bucket);
  sendXml(x.res, 200, buildXml('PolicyStatus', { IsPublic: isPublic ? 'true' : 'false' }));
}
