/**
 * Swift's extract-archive (its bulk middleware): `PUT /v1/{account}[/{container}[/{prefix}]]?extract-archive=tar
 * |tar.gz|tar.bz2` stores each regular file of the archive as an object (`<container>/<object>` from the account,
 * under the container and prefix otherwise), streaming: each file's bytes go from the request to storage as they
 * come, nothing is buffered. Containers named from the account are created as needed. Each file is written as
 * the caller (authorize(), quotas); a file that fails is listed with its status and the others go on. The answer
 * is Swift's bulk format (plain, JSON or XML by Accept): `Number Files Created`, `Response Status` (201, or 400
 * with the errors or a broken archive's `Invalid Tar File: …`), `Errors`.
 */
import type { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { asOnggiError, fail } from '../../core/errors.ts';
import type { BucketRow } from '../../core/model.ts';
import { BULK_CONTENT_TYPES, bulkBody, bulkFormat, type BulkError } from './bulk-format.ts';
import { sendSwiftStatus, swiftStatusLine, swiftStatusOf } from './errors.ts';
import { sendBody, type Exchange } from './exchange.ts';
import { registerInfo } from './info.ts';
import { quotaRoom } from './quotas.ts';

const MAX_CONTAINERS_PER_EXTRACTION = 10_000;
const MAX_FAILED_EXTRACTIONS = 1000;

registerInfo('bulk_upload', () => ({ max_containers_per_extraction: MAX_CONTAINERS_PER_EXTRACTION, max_failed_extractions: MAX_FAILED_EXTRACTIONS }));

// The tar and bzip2 libraries load at the first extraction: a server that never sees one does not hold them.
const DECOMPRESSORS: Record<string, (() => Promise<Transform>) | null> = {
  tar: null,
  'tar.gz': () => Promise.resolve(createGunzip()),
  'tar.bz2': async () => (await import('unbzip2-stream')).default(),
};

/** `base`: where the request points: '' (the account), `<container>` or `<container>/<prefix>`. */
export async function extractArchive(x: Exchange, account: string, base: string): Promise<void> {
  const kind = x.ctx.query.get('extract-archive') ?? '';
  const decompressor = DECOMPRESSORS[kind];
  if (decompressor === undefined) {
    sendSwiftStatus(x.res, 400, false, 'Unsupported archive format');
    return;
  }
  const state = { created: 0, errors: [] as BulkError[], containers: new Set<string>() };
  let broken: string | undefined;
  const archive = (await import('tar-stream')).extract();
  const source: Readable = decompressor ? x.req.pipe(await decompressor()) : x.req;
  // A broken compressed stream ends the archive with its error, which the loop below then meets.
  source.on('error', (err) => archive.destroy(err));
  source.pipe(archive);
  try {
    for await (const entry of archive) {
      if (state.errors.length >= MAX_FAILED_EXTRACTIONS) {
        entry.resume();
        continue;
      }
      // tar-stream's entries yield Buffers (its types say unknown).
      await storeEntry(x, account, base, entry as Entry, state);
    }
  } catch (err) {
    if (asOnggiError(err)?.code === 'StorageUnavailable') throw err;
    broken ??= err instanceof Error ? err.message : String(err);
  }
  if (broken !== undefined) x.req.unpipe();
  if (!x.req.readableEnded) x.req.resume();
  if (broken === undefined && state.created === 0 && state.errors.length === 0) broken = 'No Valid Files';
  const format = bulkFormat(x.req);
  const failed = broken !== undefined || state.errors.length > 0;
  const fields = {
    'Number Files Created': state.created,
    'Response Body': broken === undefined ? '' : `Invalid Tar File: ${broken}`,
    'Response Status': swiftStatusLine(failed ? 400 : 201),
  };
  sendBody(x.res, 200, { 'Content-Type': BULK_CONTENT_TYPES[format] }, bulkBody(format, fields, state.errors, 'extract'));
}

type Entry = AsyncIterable<Uint8Array> & { header: { name: string; type: string; size: number }; resume(): unknown };

async function storeEntry(x: Exchange, account: string, base: string, entry: Entry, state: { created: number; errors: BulkError[]; containers: Set<string> }): Promise<void> {
  const { header } = entry;
  if (header.type !== 'file' && header.type !== 'contiguous-file') {
    entry.resume();
    return;
  }
  let name = header.name;
  while (name.startsWith('./')) name = name.slice(2);
  name = name.replace(/^\/+/, '');
  const path = base === '' ? name : `${base}/${name}`;
  const slash = path.indexOf('/');
  const container = slash < 0 ? '' : path.slice(0, slash);
  const object = slash < 0 ? '' : path.slice(slash + 1);
  const quoted = encodeURI(`/${path}`);
  if (name === '' || container === '' || object === '') {
    entry.resume();
    state.errors.push([quoted, swiftStatusLine(400)]);
    return;
  }
  try {
    const bucket = await ensureContainer(x, account, container, state.containers);
    const checkingRoom = quotaRoom(x.ctx.core, bucket, header.size);
    await x.ctx.core.objects.put(x.caller, {
      account,
      bucket: container,
      key: object,
      contentType: undefined,
      meta: {},
      headers: {},
      deleteAt: null,
      body: entry,
      contentLength: header.size,
      quotaRoom: checkingRoom && (await checkingRoom),
    });
    state.created++;
  } catch (err) {
    const failure = asOnggiError(err);
    if (!failure || failure.code === 'Busy' || failure.code === 'StorageUnavailable') throw err;
    entry.resume();
    state.errors.push([quoted, swiftStatusLine(swiftStatusOf(failure.code))]);
  }
}

async function ensureContainer(x: Exchange, account: string, name: string, made: Set<string>): Promise<BucketRow> {
  const existing = await x.ctx.core.buckets.row(account, name);
  if (existing) return existing;
  if (made.size >= MAX_CONTAINERS_PER_EXTRACTION) fail('InvalidArgument', `More than ${MAX_CONTAINERS_PER_EXTRACTION} containers to create`);
  made.add(name);
  return x.ctx.core.buckets.create(x.caller, account, { name });
}
