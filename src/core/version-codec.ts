/**
 * How version rows are stored. They are the most numerous rows of all, and a GET reads one: as a JSON object
 * (its field names in every row) one takes some 350 bytes; packed into an array, about 130 — so almost three
 * times as many fit in a page of the metadata store's cache. Rows stored as objects (before packing) read as
 * they are.
 */
import type { Metadata } from './types.ts';
import type { VersionData, VersionRow, VersionState } from './model.ts';

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
  noncurrentSince?: number,
];

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

/** Nothing for a current null version, the most common row by far. */
function versioningFields(version: VersionRow): [] | [1 | 0] | [1 | 0, number] {
  if (version.noncurrentSince !== undefined) return [version.named ? 1 : 0, version.noncurrentSince];
  return version.named ? [1] : [];
}

export function unpackVersion(stored: unknown): VersionRow {
  if (!Array.isArray(stored)) return stored as VersionRow;
  const [tag, id, state, createdAt, modifiedAfter, size, etag, contentType, meta, headers, deleteAt, data, named, noncurrentSince] = stored as PackedVersion;
  const knownState = STATES[state];
  if (tag !== PACKED_V1 || knownState === undefined) throw new Error(`a version row in a form this build does not know (${String(tag)}/${String(state)})`);
  return {
    id,
    state: knownState,
    createdAt,
    lastModified: createdAt + modifiedAfter,
    size,
    etag,
    contentType,
    meta,
    headers,
    deleteAt,
    data: data === PLAIN_ATTACHED ? { kind: 'attached', encryption: null } : data,
    ...(named === 1 ? { named: true } : {}),
    ...(noncurrentSince === undefined ? {} : { noncurrentSince }),
  };
}
