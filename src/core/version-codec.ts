/**
 * How version rows are stored. They are the most numerous rows of all, and a GET reads one: as a JSON object
 * (its field names in every row) one takes some 350 bytes; packed into an array, about 130 — so almost three
 * times as many fit in a page of the metadata store's cache. Rows stored as objects (before packing) read as
 * they are.
 */
import type { Metadata } from './types.ts';
import { DAMAGE_REASONS, RETENTION_MODES, type VersionData, type VersionRow, type VersionState } from './model.ts';

/** The packed form's first element: a layout that changes gets a new tag, and the old one keeps being read. */
const PACKED_V1 = 1;

const STATES: readonly VersionState[] = ['complete', 'uploading', 'delete-marker'];

/** A small object's data without encryption, by far the most common: a 0 in place of the object. */
const PLAIN_ATTACHED = 0;

type PackedVersion = [
  tag: typeof PACKED_V1,
  id: string,
  state: number,
  createdAt: number,
  modifiedAfter: number,
  size: number,
  etag: string,
  contentType: string,
  meta: Metadata,
  headers: Metadata,
  deleteAt: number | null,
  data: VersionData | typeof PLAIN_ATTACHED,
  // Added with versioning; rows packed before have neither (a null version that is current).
  named?: 1 | 0,
  noncurrentSince?: number | null,
  // Added with Object Lock and tagging; only rows that carry either have it.
  extras?: PackedExtras,
];

/** Retention as [mode index, retain-until], legal hold as 1/0, tags as [key, value] pairs, damage as [reason index, at]. */
interface PackedExtras {
  r?: [number, number];
  h?: 1 | 0;
  t?: [string, string][];
  d?: [number, number];
}

export function packVersion(version: VersionRow): PackedVersion {
  const { data } = version;
  return [
    PACKED_V1,
    version.id,
    STATES.indexOf(version.state),
    version.createdAt,
    version.lastModified - version.createdAt,
    version.size,
    version.etag,
    version.contentType,
    version.meta,
    version.headers,
    version.deleteAt,
    data.kind === 'attached' && data.encryption === null ? PLAIN_ATTACHED : data,
    ...versioningFields(version),
  ];
}

/** Nothing for a current null version, the most common row by far; the extras last, when there are any. */
function versioningFields(version: VersionRow): [] | [1 | 0] | [1 | 0, number | null] | [1 | 0, number | null, PackedExtras] {
  const extras = packExtras(version);
  if (extras) return [version.named ? 1 : 0, version.noncurrentSince ?? null, extras];
  if (version.noncurrentSince !== undefined) return [version.named ? 1 : 0, version.noncurrentSince];
  return version.named ? [1] : [];
}

function packExtras(version: VersionRow): PackedExtras | null {
  const { retention, legalHold, tags, damaged } = version;
  if (retention === undefined && legalHold === undefined && (tags === undefined || tags.length === 0) && damaged === undefined) return null;
  return {
    ...(retention ? { r: [RETENTION_MODES.indexOf(retention.mode), retention.retainUntil] } : {}),
    ...(legalHold === undefined ? {} : { h: legalHold ? 1 : 0 }),
    ...(tags?.length ? { t: tags.map((tag): [string, string] => [tag.key, tag.value]) } : {}),
    ...(damaged ? { d: [DAMAGE_REASONS.indexOf(damaged.reason), damaged.at] } : {}),
  };
}

function unpackExtras(extras: PackedExtras, row: VersionRow): void {
  const mode = extras.r && RETENTION_MODES[extras.r[0]];
  if (extras.r && mode) row.retention = { mode, retainUntil: extras.r[1] };
  if (extras.h !== undefined) row.legalHold = extras.h === 1;
  if (extras.t) row.tags = extras.t.map(([key, value]) => ({ key, value }));
  // A reason this build does not know still marks the version damaged.
  if (extras.d) row.damaged = { reason: DAMAGE_REASONS[extras.d[0]] ?? 'hash', at: extras.d[1] };
}

/** What a plain attached version's data unpacks to: one shared object (frozen: nothing may change it in place). */
const PLAIN_ATTACHED_DATA: VersionData = Object.freeze({ kind: 'attached', encryption: null });

/**
 * Read for every GET, HEAD and listed entry, so written for speed: elements read by index (destructuring walks an
 * iterator), optional fields set one by one (no spreads), the common plain data shared.
 */
export function unpackVersion(stored: unknown): VersionRow {
  if (!Array.isArray(stored)) return stored as VersionRow;
  const packed = stored as PackedVersion;
  const knownState = STATES[packed[2]];
  if (packed[0] !== PACKED_V1 || knownState === undefined) throw new Error(`a version row in a form this build does not know (${String(packed[0])}/${String(packed[2])})`);
  const createdAt = packed[3];
  const data = packed[11];
  const row: VersionRow = {
    id: packed[1],
    state: knownState,
    createdAt,
    lastModified: createdAt + packed[4],
    size: packed[5],
    etag: packed[6],
    contentType: packed[7],
    meta: packed[8],
    headers: packed[9],
    deleteAt: packed[10],
    data: data === PLAIN_ATTACHED ? PLAIN_ATTACHED_DATA : data,
  };
  if (packed.length > 12) addVersioningFields(packed, row);
  return row;
}

function addVersioningFields(packed: PackedVersion, row: VersionRow): void {
  const [, , , , , , , , , , , , named, noncurrentSince, extras] = packed;
  if (named === 1) row.named = true;
  if (noncurrentSince !== undefined && noncurrentSince !== null) row.noncurrentSince = noncurrentSince;
  if (extras !== undefined) unpackExtras(extras, row);
}
