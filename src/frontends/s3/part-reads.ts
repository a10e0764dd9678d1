/**
 * GetObject and HeadObject with `?partNumber=N`: a ranged read of one part of a multipart object (`x-amz-mp-parts-count`
 * tells how many it has), or of part 1 of any other object, its whole.
 */
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';
import type { Exchange } from './exchange.ts';
import { objectHeaders, readConditions, refuseAnonymousOverrides } from './object-headers.ts';
import { readRefOf, streamBodies } from './object-ops.ts';

const MAX_PART_NUMBER = 10_000;

export async function getObjectPart(bucket: string, key: string, x: Exchange): Promise<void> {
  const partNumber = partNumberOf(x.ctx.query.get('partNumber') ?? '');
  if (headerValue(x.req, 'range') !== undefined) throw new S3Error('InvalidRequest', 400, 'Cannot specify both Range header and partNumber query parameter');
  const anonymous = x.caller.kind === 'anonymous';
  refuseAnonymousOverrides(x.ctx.query, anonymous);
  const ref = readRefOf(x, bucket, key);
  const { core } = x.ctx;
  const { record, range, partsCount } = await core.objects.part(x.caller, ref, readConditions(x.req), partNumber);
  if (range === null && !(partNumber === 1 && record.size === 0)) throw new S3Error('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable');
  const headers = objectHeaders(record, x.ctx.query, false, anonymous, ref.customerKey);
  if (partsCount !== null) headers['x-amz-mp-parts-count'] = partsCount;
  if (range === null) {
    x.res.writeHead(200, { ...headers, 'Content-Length': 0 }).end();
    return;
  }
  headers['Content-Length'] = range.end - range.start + 1;
  headers['Content-Range'] = `bytes ${String(range.start)}-${String(range.end)}/${String(record.size)}`;
  if (x.req.method === 'HEAD') {
    x.res.writeHead(206, headers).end();
    return;
  }
  // The same version as the part was found in: one overwritten meanwhile fails the read rather than mixing them.
  const { bodies } = await core.objects.get(x.caller, ref, { ifMatch: `"${record.etag}"` }, `bytes=${String(range.start)}-${String(range.end)}`);
  x.res.writeHead(206, headers);
  await streamBodies(x.res, bodies);
}

function partNumberOf(value: string): number {
  const number = /^[0-9]{1,5}$/.test(value) ? Number(value) : 0;
  if (number < 1 || number > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', 400, `Part number must be an integer between 1 and ${String(MAX_PART_NUMBER)}, inclusive`, { ArgumentName: 'partNumber', ArgumentValue: value });
  }
  return number;
}
