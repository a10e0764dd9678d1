/** DeleteObjects: up to 1,000 keys (and versions) in one request; its body's integrity by Content-MD5 or any flexible checksum. */
import { createHash } from 'node:crypto';
import { asOnggiError } from '../../core/errors.ts';
import { headerValue } from '../../http/context.ts';
import { readSmallBody } from './body.ts';
import { fromCore, S3Error } from './errors.ts';
import { CHECKSUM_ALGORITHMS, checksumHeader } from './checksums.ts';
import { sendXml, type Exchange } from './exchange.ts';
import { bypassGovernanceOf } from './version-settings.ts';
import { buildXml, parseXml, type XmlNode } from './xml.ts';

const MAX_KEYS = 1000;

export async function deleteObjects(bucket: string, x: Exchange): Promise<void> {
  const hasDigest = headerValue(x.req, 'content-md5') !== undefined || headerValue(x.req, 'x-amz-trailer') !== undefined || CHECKSUM_ALGORITHMS.some((a) => x.req.headers[checksumHeader(a)] !== undefined);
  if (!hasDigest) throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  // The flexible checksums are verified as the body is read (body.ts); Content-MD5 here.
  const body = await readSmallBody(x.req, 2 * 1024 * 1024);
  const md5 = headerValue(x.req, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  const root = parseXml(body).Delete as { Object?: Array<Record<string, unknown>>; Quiet?: unknown } | undefined;
  const objects = root?.Object ?? [];
  if (objects.length === 0 || objects.length > MAX_KEYS) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  const quiet = typeof root?.Quiet === 'string' && root.Quiet.toLowerCase() === 'true';
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const object of objects) {
    const key = typeof object.Key === 'string' ? object.Key : '';
    const versionId = typeof object.VersionId === 'string' && object.VersionId !== '' ? object.VersionId : undefined;
    try {
      const result = await x.ctx.core.objects.delete(x.caller, { account: x.account, bucket, key, ...(versionId ? { versionId } : {}) }, { requireLive: false, bypassGovernance: bypassGovernanceOf(x.req) });
      if (quiet) continue;
      const entry: XmlNode = { Key: key };
      if (versionId) entry.VersionId = versionId;
      if (result.deleteMarker) {
        entry.DeleteMarker = true;
        if (result.versionId !== null) entry.DeleteMarkerVersionId = result.versionId;
      }
      deleted.push(entry);
    } catch (err) {
      const known = asOnggiError(err);
      if (!known) throw err;
      const s3 = fromCore(known);
      errors.push({ Key: key, ...(versionId ? { VersionId: versionId } : {}), Code: s3.code, Message: s3.message });
    }
  }
  sendXml(x.res, 200, buildXml('DeleteResult', { Deleted: deleted, Error: errors }));
}
