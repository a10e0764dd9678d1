/** CORS for S3's requests: the bucket's rules (the ones Swift's requests are answered by) on preflights and actual requests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../../http/context.ts';
import { applyBucketCors } from '../../http/cors.ts';

/**
 * Answers an OPTIONS preflight (true: the response is sent) or adds the CORS headers to an actual request with an
 * Origin. A preflight carries no credentials, so the bucket is found by its server-wide name; where names are per
 * project (the `swift` naming profile) no bucket is found and preflights are refused.
 */
export async function applyS3Cors(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, bucket: string): Promise<boolean> {
  const owner = ctx.core.buckets.naming.serverWideNames ? await ctx.core.buckets.ownerOf(bucket) : null;
  return applyBucketCors(req, res, ctx.core, owner ?? '', owner === null ? null : bucket);
}
