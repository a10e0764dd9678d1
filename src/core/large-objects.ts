/**
 * Objects that are read through others: static manifests (Swift's SLO: segments pinned by ETag and size, ranges
 * of them allowed, manifests nested), dynamic manifests (Swift's DLO: a container's objects under a prefix, read
 * at GET time) and symbolic links (to an object, optionally pinned to its ETag). Every segment and every target
 * is read as the caller, through `Objects` (so authorized for them); one that is missing or changed ends the read
 * with an error — never other bytes in its place.
 */
import { createHash } from 'node:crypto';
import { newId } from '../lib/ids.ts';
import type { Bound, Entry, MetadataStore, Tx } from '../store/meta/index.ts';
import { checkReadConditions, resolveRanges, type ByteRange, type ReadConditions } from './conditions.ts';
import { fail, isOnggiError, type ManifestProblem } from './errors.ts';
import { sequenceOf, type Body, type Located } from './object-bodies.ts';
import { manifestOfReference, manifestReference } from './object-intake.ts';
import type { ListOptions } from './listing.ts';
import { ALL, partOffsetKey, TABLES, type SegmentBatchRow, type SegmentRow, type VersionRow } from './model.ts';
import type { ObjectRef, ReadResult, WriteAttributes } from './objects.ts';
import type { Caller, ObjectRecord } from './types.ts';
import { toRecord } from './versions.ts';

/** Swift's limits: segments per static manifest, manifests nested in one another, symbolic links followed. */
export const MAX_MANIFEST_SEGMENTS = 1000;
export const MAX_MANIFEST_DEPTH = 10;
export const MAX_SYMLINK_HOPS = 2;
/** Segments a dynamic manifest is read from at most (each is a row of a listing). */
export const MAX_DYNAMIC_SEGMENTS = 100_000;
const SEGMENT_BATCH = 1000;

/** How deep a read already is: manifests within manifests, links followed. */
export interface Indirection {
  depth: number;
  hops: number;
}

/** A segment of a static manifest as a client gives it (Swift's `path`, `etag`, `size_bytes`, `range`). */
export interface SegmentInput {
  bucket: string;
  key: string;
  etag?: string | null | undefined;
  size?: number | null | undefined;
  /** `first-last`, `first-` or `-suffix`, as in a Range header. */
  range?: string | null | undefined;
}

/** What large objects need of `Objects`: reads as the caller, listings, and writing a version. */
export interface ObjectAccess {
  head(caller: Caller, ref: ObjectRef, conditions: ReadConditions, indirection?: Indirection): Promise<ObjectRecord>;
  get(caller: Caller, ref: ObjectRef, conditions: ReadConditions, rangeHeader: string | undefined, indirection?: Indirection): Promise<ReadResult>;
  list(caller: Caller, account: string, bucket: string, options: ListOptions): Promise<{ entries: { kind: string; item?: ObjectRecord }[] }>;
  writeVersion(caller: Caller, ref: ObjectRef, version: VersionRow, prepare: (tx: Tx) => Promise<void>): Promise<ObjectRecord>;
}

/** One piece of a large object's read: a segment object, the bytes of it wanted, and what it must still be. */
interface SegmentPiece {
  ref: ObjectRef;
  etag: string;
  objectSize: number;
  range: ByteRange;
}

/** A large object as it reads: its record (size, ETag), and its pieces for a range. */
interface Plan {
  record: ObjectRecord;
  pieces(range: ByteRange): AsyncIterable<SegmentPiece>;
}

export class LargeObjects {
  constructor(
    private readonly store: MetadataStore,
    private readonly objects: ObjectAccess,
  ) {}

  /** Writes a static manifest: every segment is checked now (it exists for the caller, with the ETag and size given). */
  async putStatic(caller: Caller, ref: ObjectRef, given: readonly SegmentInput[], attributes: WriteAttributes): Promise<ObjectRecord> {
    if (given.length === 0) fail('InvalidManifest', 'Manifest must have at least one segment.');
    if (given.length > MAX_MANIFEST_SEGMENTS) fail('InvalidManifest', `Too many segments: at most ${MAX_MANIFEST_SEGMENTS}`);
    const problems: ManifestProblem[] = [];
    const segments: SegmentRow[] = [];
    for (const input of given) {
      const segment = await this.checkSegment(caller, ref.account, input).catch((err: unknown) => {
        if (!isOnggiError(err) || err.code === 'Busy' || err.code === 'StorageUnavailable') throw err;
        problems.push({ path: `/${input.bucket}/${input.key}`, code: err.code, message: err.message });
        return null;
      });
      if (segment) segments.push(segment);
    }
    if (problems.length > 0) fail('InvalidManifest', `Errors:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`, { problems });
    const size = segments.reduce((sum, segment) => sum + bytesOf(segment), 0);
    const manifestId = newId();
    const now = Date.now();
    const version: VersionRow = {
      id: '',
      state: 'complete',
      createdAt: now,
      lastModified: now,
      size,
      etag: staticManifestEtag(segments),
      contentType: attributes.contentType ?? 'application/octet-stream',
      meta: attributes.meta,
      headers: attributes.headers,
      deleteAt: attributes.deleteAt,
      data: { kind: 'static-manifest', manifestId, segments: segments.length },
    };
    return this.objects.writeVersion(caller, ref, version, (tx) => {
      for (let i = 0, offset = 0; i < segments.length; i += SEGMENT_BATCH) {
        const batch = segments.slice(i, i + SEGMENT_BATCH);
        tx.put(TABLES.manifestSegments, manifestId, partOffsetKey(offset), { segments: batch });
        offset += batch.reduce((sum, segment) => sum + bytesOf(segment), 0);
      }
      tx.put(TABLES.blobRefs, ALL, manifestReference(manifestId), { count: 1 }, { ifVersion: null });
      return Promise.resolve();
    });
  }

  /** Writes a dynamic manifest: the objects of `bucket` under `prefix`, whatever they are when it is read. */
  async putDynamic(caller: Caller, ref: ObjectRef, target: { bucket: string; prefix: string }, attributes: WriteAttributes): Promise<ObjectRecord> {
    return this.objects.writeVersion(caller, ref, emptyVersion(attributes, { kind: 'dynamic-manifest', bucket: target.bucket, prefix: target.prefix }), () => Promise.resolve());
  }

  /** Writes a symbolic link; pinned to an ETag, its target must have it now (and whenever it is read). */
  async putSymlink(caller: Caller, ref: ObjectRef, target: ObjectRef, pinnedEtag: string | null, attributes: WriteAttributes): Promise<ObjectRecord> {
    if (pinnedEtag !== null) {
      const record = await this.objects.head(caller, target, {});
      if (record.etag !== pinnedEtag) fail('BrokenSymlink', `Object Etag ${record.etag} does not match the target ETag ${pinnedEtag}`);
    }
    const data = { kind: 'symlink' as const, account: target.account, bucket: target.bucket, key: target.key, etag: pinnedEtag };
    return this.objects.writeVersion(caller, ref, emptyVersion({ ...attributes, contentType: attributes.contentType ?? 'application/symlink' }, data), () => Promise.resolve());
  }

  /** The record of a large object or link, as a HEAD shows it (a dynamic manifest's size and ETag from a listing). */
  async head(caller: Caller, located: Located, conditions: ReadConditions, indirection: Indirection): Promise<ObjectRecord> {
    const { data } = located.version;
    if (data.kind === 'symlink') return this.follow(caller, located, indirection, (target, next) => this.objects.head(caller, target, conditions, next), (record) => record);
    const { record } = await this.plan(caller, located, indirection);
    checkReadConditions(record, conditions);
    return record;
  }

  /** The bytes of a large object or link: its segments' (or its target's), in order, for the ranges asked. */
  async get(caller: Caller, located: Located, conditions: ReadConditions, rangeHeader: string | undefined, indirection: Indirection): Promise<ReadResult> {
    const { data } = located.version;
    if (data.kind === 'symlink') {
      return this.follow(caller, located, indirection, (target, next) => this.objects.get(caller, target, conditions, rangeHeader, next), (result) => result.record, closeResult);
    }
    const plan = await this.plan(caller, located, indirection);
    checkReadConditions(plan.record, conditions);
    const ranges = resolveRanges(rangeHeader, plan.record.size, plan.record.etag);
    const bodies: Body[] = [];
    const deeper = { ...indirection, depth: indirection.depth + 1 };
    try {
      for (const range of ranges ?? [{ start: 0, end: plan.record.size - 1 }]) {
        bodies.push(await sequenceOf(plan.pieces(range), (piece) => this.openPiece(caller, piece, deeper)));
      }
    } catch (err) {
      for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
    return { record: plan.record, ranges, bodies };
  }

  /** A static manifest's segments as written, in order (Swift's `?multipart-manifest=get`). */
  async segmentsOf(located: Located): Promise<SegmentRow[]> {
    const { data } = located.version;
    if (data.kind !== 'static-manifest') throw new Error(`a ${data.kind} has no segment list`);
    const segments: SegmentRow[] = [];
    let lower: Bound | undefined;
    for (;;) {
      const rows = await this.store.scan(TABLES.manifestSegments, data.manifestId, { prefix: '', lower, limit: 100, reverse: false });
      for (const row of rows) segments.push(...row.value.segments);
      const last = rows[rows.length - 1];
      if (rows.length < 100 || !last) return segments;
      lower = { key: last.sk, inclusive: false };
    }
  }

  /** Removes the segment lists of static manifests no version holds any more; returns how many rows went. */
  async collect(): Promise<number> {
    const queued = await this.store.scan(TABLES.blobGc, ALL, { prefix: manifestReference(''), limit: 100, reverse: false });
    let removed = 0;
    for (const entry of queued) {
      const manifestId = manifestOfReference(entry.sk);
      if (manifestId === null) continue;
      const rows = await this.store.scan(TABLES.manifestSegments, manifestId, { prefix: '', limit: 1000, reverse: false });
      await this.store.transact((tx) => {
        for (const row of rows) tx.delete(TABLES.manifestSegments, manifestId, row.sk);
        if (rows.length < 1000) tx.delete(TABLES.blobGc, ALL, entry.sk);
        return Promise.resolve();
      });
      removed += rows.length;
    }
    return removed;
  }

  private async checkSegment(caller: Caller, account: string, input: SegmentInput): Promise<SegmentRow> {
    const record = await this.objects.head(caller, { account, bucket: input.bucket, key: input.key }, {});
    if (input.etag && input.etag.replace(/"/g, '').toLowerCase() !== record.etag) fail('InvalidManifest', 'Etag Mismatch');
    if (input.size !== undefined && input.size !== null && input.size !== record.size) fail('InvalidManifest', 'Size Mismatch');
    const range = input.range ? segmentRange(input.range, record.size) : null;
    if ((range ? range[1] - range[0] + 1 : record.size) < 1) fail('InvalidManifest', 'Too small; each segment must be at least 1 byte.');
    const segment: SegmentRow = { bucket: input.bucket, key: input.key, etag: record.etag, objectSize: record.size, range };
    if (record.indirect?.kind === 'static-manifest') segment.nested = true;
    return segment;
  }

  /** Follows a link to its target (a bounded number of hops), checking the ETag it is pinned to. */
  private async follow<T>(
    caller: Caller,
    located: Located,
    indirection: Indirection,
    read: (target: ObjectRef, next: Indirection) => Promise<T>,
    recordOf: (result: T) => ObjectRecord,
    close: (result: T) => void = () => undefined,
  ): Promise<T> {
    const { data } = located.version;
    if (data.kind !== 'symlink') throw new Error('not a symbolic link');
    if (indirection.hops >= MAX_SYMLINK_HOPS) fail('BrokenSymlink', `Too many levels of symbolic links, maximum allowed is ${MAX_SYMLINK_HOPS}`);
    const target = { account: data.account, bucket: data.bucket, key: data.key };
    const result = await read(target, { ...indirection, hops: indirection.hops + 1 });
    const record = recordOf(result);
    // Records are made per read: the innermost link names the object the bytes came from.
    record.linkedTo ??= target;
    if (data.etag !== null && record.etag !== data.etag) {
      close(result);
      fail('BrokenSymlink', `Object Etag ${record.etag} does not match X-Symlink-Target-Etag ${data.etag}`);
    }
    return result;
  }

  private async plan(caller: Caller, located: Located, indirection: Indirection): Promise<Plan> {
    if (indirection.depth >= MAX_MANIFEST_DEPTH) fail('BrokenManifest', `Max recursion depth exceeded on a manifest (${MAX_MANIFEST_DEPTH})`);
    const { data } = located.version;
    const account = located.bucket.projectId;
    const record = toRecord(located.bucket.name, located.key, located.version);
    if (data.kind === 'static-manifest') return { record, pieces: (range) => this.staticPieces(account, data.manifestId, range) };
    if (data.kind !== 'dynamic-manifest') throw new Error(`a ${data.kind} has no segments`);
    const segments = await this.dynamicSegments(caller, account, data.bucket, data.prefix);
    const size = segments.reduce((sum, segment) => sum + segment.objectSize, 0);
    const etag = createHash('md5')
      .update(segments.map((segment) => segment.etag).join(''))
      .digest('hex');
    return {
      record: { ...record, size, etag },
      pieces: async function* (range) {
        yield* piecesOf(account, segments, range);
      },
    };
  }

  /** The objects of a dynamic manifest's container under its prefix, in name order, as the caller may list them. */
  private async dynamicSegments(caller: Caller, account: string, bucket: string, prefix: string): Promise<SegmentRow[]> {
    const segments: SegmentRow[] = [];
    let marker = '';
    for (;;) {
      const { entries } = await this.objects.list(caller, account, bucket, { prefix, delimiter: '', marker, endMarker: '', limit: 10_000, reverse: false });
      for (const entry of entries) {
        if (!entry.item) continue;
        segments.push({ bucket, key: entry.item.key, etag: entry.item.etag, objectSize: entry.item.size, range: null });
        marker = entry.item.key;
      }
      if (segments.length > MAX_DYNAMIC_SEGMENTS) fail('BrokenManifest', `A dynamic large object of more than ${MAX_DYNAMIC_SEGMENTS} segments`);
      if (entries.length < 10_000) return segments;
    }
  }

  /** The segments of a static manifest that `range` touches, a batch of its list at a time. */
  private async *staticPieces(account: string, manifestId: string, range: ByteRange): AsyncGenerator<SegmentPiece> {
    const scan = (bound: { lower?: Bound; upper?: Bound }): Promise<Entry<SegmentBatchRow>[]> =>
      this.store.scan(TABLES.manifestSegments, manifestId, { prefix: '', ...bound, limit: 1, reverse: bound.upper !== undefined });
    let [batch] = await scan({ upper: { key: partOffsetKey(range.start), inclusive: true } });
    while (batch) {
      const offset = Number(batch.sk);
      yield* piecesOf(account, batch.value.segments, range, offset);
      const end = offset + batch.value.segments.reduce((sum, segment) => sum + bytesOf(segment), 0);
      if (end > range.end) return;
      [batch] = await scan({ lower: { key: batch.sk, inclusive: false } });
    }
    fail('BrokenManifest', 'The segment list of a static large object is incomplete');
  }

  /** Reads a piece as the caller, if its segment is still what the manifest says; else the read ends. */
  private async openPiece(caller: Caller, piece: SegmentPiece, indirection: Indirection): Promise<Body> {
    const { ref } = piece;
    const name = `/${ref.bucket}/${ref.key}`;
    let result: ReadResult;
    try {
      result = await this.objects.get(caller, ref, { ifMatch: piece.etag }, `bytes=${piece.range.start}-${piece.range.end}`, indirection);
    } catch (err) {
      if (isOnggiError(err) && ['NoSuchKey', 'NoSuchBucket', 'PreconditionFailed', 'InvalidRange'].includes(err.code)) {
        fail('BrokenManifest', `The segment ${name} of a large object is missing or changed (${err.code})`);
      }
      throw err;
    }
    if (result.record.size !== piece.objectSize || result.bodies.length !== 1) {
      closeResult(result);
      fail('BrokenManifest', `The segment ${name} of a large object has another size now`);
    }
    const [body] = result.bodies;
    return body ?? Buffer.alloc(0);
  }
}

/** Swift's SLO ETag: the MD5 of its segments' ETags, each followed by `:first-last;` when a range of it is taken. */
export function staticManifestEtag(segments: readonly SegmentRow[]): string {
  const hash = createHash('md5');
  for (const segment of segments) hash.update(segment.range ? `${segment.etag}:${segment.range[0]}-${segment.range[1]};` : segment.etag);
  return hash.digest('hex');
}

/** The pieces of `segments` (the first at `offset` of the object) that `range` touches. */
function* piecesOf(account: string, segments: readonly SegmentRow[], range: ByteRange, offset = 0): Generator<SegmentPiece> {
  let at = offset;
  for (const segment of segments) {
    const length = bytesOf(segment);
    const start = Math.max(range.start, at);
    const end = Math.min(range.end, at + length - 1);
    if (start <= end) {
      const base = segment.range?.[0] ?? 0;
      yield {
        ref: { account, bucket: segment.bucket, key: segment.key },
        etag: segment.etag,
        objectSize: segment.objectSize,
        range: { start: base + start - at, end: base + end - at },
      };
    }
    at += length;
    if (at > range.end) return;
  }
}

/** The bytes a segment gives its manifest. */
function bytesOf(segment: SegmentRow): number {
  return segment.range ? segment.range[1] - segment.range[0] + 1 : segment.objectSize;
}

/** A segment's `range` (as in a Range header) within an object of `size` bytes. */
function segmentRange(text: string, size: number): [number, number] {
  const ranges = resolveRanges(`bytes=${text}`, size);
  const [range] = ranges ?? [];
  if (!range || ranges?.length !== 1) fail('InvalidManifest', `Invalid range: ${text}`);
  return [range.start, range.end];
}

function emptyVersion(attributes: WriteAttributes, data: VersionRow['data']): VersionRow {
  const now = Date.now();
  return {
    id: '',
    state: 'complete',
    createdAt: now,
    lastModified: now,
    size: 0,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: attributes.contentType ?? 'application/octet-stream',
    meta: attributes.meta,
    headers: attributes.headers,
    deleteAt: attributes.deleteAt,
    data,
  };
}

function closeResult(result: ReadResult): void {
  for (const body of result.bodies) if (!Buffer.isBuffer(body)) body.destroy();
}
