/**
 * Swift's bulk delete (`POST|DELETE /v1/{account}?bulk-delete`): a newline-separated list of URL-quoted
 * `/container/object` (or `/container`) paths, each deleted as the caller; the answer is Swift's bulk format.
 * rclone removes a large object's segments this way.
 */
import { asOnggiError } from '../../core/errors.ts';
import { BodyTooLargeError, readSmallBody } from '../../http/body.ts';
import { BULK_CONTENT_TYPES, bulkBody, bulkFormat, type BulkError } from './bulk-format.ts';
import { sendSwiftStatus, swiftStatusLine, swiftStatusOf } from './errors.ts';
import { sendBody, type Exchange } from './exchange.ts';
import { registerInfo } from './info.ts';
import { decode } from './router.ts';

const MAX_DELETES_PER_REQUEST = 10_000;
const MAX_FAILED_DELETES = 1000;
/** Room for the longest names, quoted, on every line. */
const MAX_BODY_BYTES = MAX_DELETES_PER_REQUEST * 2048;

registerInfo('bulk_delete', () => ({ max_deletes_per_request: MAX_DELETES_PER_REQUEST, max_failed_deletes: MAX_FAILED_DELETES }));

export async function bulkDelete(x: Exchange, account: string): Promise<void> {
  let text: string;
  try {
    text = (await readSmallBody(x.req, MAX_BODY_BYTES)).toString('utf8');
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendSwiftStatus(x.res, 413, false, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
    return;
  }
  const names = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length > MAX_DELETES_PER_REQUEST) {
    sendSwiftStatus(x.res, 413, false, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
    return;
  }
  let deleted = 0;
  let notFound = 0;
  const errors: BulkError[] = [];
  for (const name of names) {
    if (errors.length >= MAX_FAILED_DELETES) break;
    const path = decode(name)?.replace(/^\//, '');
    const slash = path?.indexOf('/') ?? -1;
    const container = path === undefined ? '' : slash < 0 ? path : path.slice(0, slash);
    const object = path === undefined || slash < 0 ? '' : path.slice(slash + 1);
    if (container === '') {
      errors.push([name, 'Invalid bulk delete.']);
      continue;
    }
    try {
      if (object === '') await x.ctx.core.buckets.delete(x.caller, account, container);
      else await x.ctx.core.objects.delete(x.caller, { account, bucket: container, key: object });
      deleted++;
    } catch (err) {
      const failure = asOnggiError(err);
      if (!failure || failure.code === 'Busy' || failure.code === 'StorageUnavailable') throw err;
      if (failure.code === 'NoSuchKey' || failure.code === 'NoSuchBucket') notFound++;
      else errors.push([name, swiftStatusLine(swiftStatusOf(failure.code))]);
    }
  }
  const format = bulkFormat(x.req);
  const status = errors.length > 0 ? swiftStatusLine(400) : swiftStatusLine(200);
  const fields = { 'Number Deleted': deleted, 'Number Not Found': notFound, 'Response Body': '', 'Response Status': status };
  sendBody(x.res, 200, { 'Content-Type': BULK_CONTENT_TYPES[format] }, bulkBody(format, fields, errors, 'delete'));
}
