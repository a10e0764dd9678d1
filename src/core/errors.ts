/** The typed error set of the core. Front ends map each code to their own wire format, once. */
import { storeFaultOf } from '../store/faults.ts';
import { Contention } from '../store/meta/index.ts';
import type { ObjectRecord } from './types.ts';

export type ErrorCode =
  | 'Unauthenticated'
  | 'AccessDenied'
  | 'InvalidCredentials'
  | 'NoSuchAccount'
  | 'NoSuchBucket'
  | 'NoSuchKey'
  /** The version asked for does not exist (or the version id is not one this key has). */
  | 'NoSuchVersion'
  /** No multipart upload of that id is open for that key. */
  | 'NoSuchUpload'
  /** A part named in a complete was not uploaded, or its ETag differs. */
  | 'InvalidPart'
  /** The parts of a complete are not in ascending order of their numbers. */
  | 'InvalidPartOrder'
  /** A part of a complete, other than the last, is smaller than the minimum part size. */
  | 'EntityTooSmall'
  /** A manifest given to be written is not one (a segment missing, of another size or ETag, a bad range). */
  | 'InvalidManifest'
  /** A large object cannot be read as its manifest says: a segment is missing or changed (Swift's 409). */
  | 'BrokenManifest'
  /** A symbolic link leads through too many others, or its target no longer has the ETag it was pinned to. */
  | 'BrokenSymlink'
  /**
   * The object's stored bytes failed an integrity check: its blob is missing, of another size, or does not hash to
   * its MD5 (see integrity.ts). Found before the first byte: answered 500; found later, the response is cut off.
   */
  | 'ObjectDamaged'
  /** The method does not apply to the resource, e.g. reading a delete marker by its version id (S3's 405). */
  | 'MethodNotAllowed'
  | 'NoSuchAccessKey'
  | 'NoSuchProject'
  | 'NoSuchUser'
  /** The bucket (or version) has no configuration of the kind asked for (CORS, lifecycle, Object Lock, tags…): see the detail. */
  | 'NoSuchConfiguration'
  /**
   * Object Lock refuses: the version is under retention or a legal hold, and would be removed, overwritten, or its
   * retention weakened (S3: 403 AccessDenied). Governance retention yields to a caller allowed and asking to bypass it.
   */
  | 'ObjectLocked'
  /** The request does not apply to the resource as it is set up (S3's InvalidRequest: e.g. a lock on a bucket without Object Lock). */
  | 'InvalidRequest'
  /** An Object Lock default retention that is not a positive whole number of days or years, or too long (S3's InvalidRetentionPeriod). */
  | 'InvalidRetentionPeriod'
  /** A tag set S3 refuses: too many tags, a key twice, a key or value too long or of characters tags may not hold (S3's InvalidTag). */
  | 'InvalidTag'
  /** A bucket policy document this server refuses: not JSON, a field or value of S3's grammar wrong, or one it cannot enforce (S3's MalformedPolicy). */
  | 'MalformedPolicy'
  | 'BucketAlreadyExists'
  | 'BucketNotEmpty'
  /** The bucket's state forbids the change (e.g. it would be left without a Storage Admin). */
  | 'InvalidBucketState'
  | 'ProjectNotEmpty'
  | 'AlreadyExists'
  | 'InvalidBucketName'
  | 'InvalidObjectName'
  | 'InvalidArgument'
  | 'MetadataTooLarge'
  | 'EntityTooLarge'
  | 'LengthRequired'
  | 'IncompleteBody'
  | 'BadDigest'
  | 'PreconditionFailed'
  | 'NotModified'
  | 'InvalidRange'
  | 'ListingLimitExceeded'
  /** A per-user or per-bucket limit of the product was reached (e.g. access keys per project). */
  | 'LimitExceeded'
  /** A feature of the protocol this server refuses (rather than doing it wrong). */
  | 'Unsupported'
  /** Too much contention on the metadata store; the client may retry. */
  | 'Busy'

  /** The disk (or quota) is full: Swift's 507. */
  | 'InsufficientStorage'
  /** The data directory cannot be written or read right now (read-only, gone, failing): 503. */
  | 'StorageUnavailable';

/** A segment of a manifest given to be written that is not what it must be: its `/bucket/key`, why (a core code). */
export interface ManifestProblem {
  path: string;
  code: ErrorCode;
  message: string;
}

/** The facts an error of a code carries, for front ends to put on the wire; codes not named carry none. */
export interface ErrorDetails {
  /** `bucketVisible`: the caller, of another project, is let into the bucket for something (a grant, the public flag), so a refusal need not hide that it exists. */
  AccessDenied: { bucketVisible?: boolean };
  /** The object, for a 304's ETag and Last-Modified. */
  NotModified: { record: ObjectRecord };
  PreconditionFailed: { record?: ObjectRecord };
  /** The object's size, for Content-Range: bytes *\/size; its ETag, which Swift sends with the 416. */
  InvalidRange: { size: number; etag?: string };
  /** A delete marker is the key's current version (S3 says so in x-amz-delete-marker). */
  NoSuchKey: { deleteMarker?: boolean; versionId?: string };
  NoSuchVersion: { versionId: string };
  MethodNotAllowed: { deleteMarker?: boolean; versionId?: string };
  InvalidPart: { partNumber: number };
  EntityTooSmall: { partNumber: number; size: number; minSize: number };
  /** `quota`: the write would take a bucket or an account past a quota its owner or operator set. */
  EntityTooLarge: { quota?: boolean };
  InvalidManifest: { problems?: ManifestProblem[] };
  NoSuchConfiguration: { kind?: ConfigurationKind };
  ObjectLocked: { versionId: string; mode?: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil?: number; legalHold?: boolean };
  /** `tooMany`: more tags than an object may carry (S3 answers that one with its code BadRequest). */
  InvalidTag: { tooMany?: boolean };
  Busy: { cause?: string };
  InsufficientStorage: { cause?: string };
  StorageUnavailable: { cause?: string };
}

/**
 * What a NoSuchConfiguration lacks, for front ends whose codes differ by kind (S3: NoSuchCORSConfiguration,
 * NoSuchLifecycleConfiguration, ObjectLockConfigurationNotFoundError for a bucket without Object Lock,
 * NoSuchObjectLockConfiguration for a version without retention or legal hold, NoSuchTagSet for a bucket without tags).
 */
export type ConfigurationKind = 'policy' | 'cors' | 'lifecycle' | 'logging' | 'emptying' | 'object-lock' | 'object-retention' | 'object-legal-hold' | 'bucket-tagging';

export type DetailOf<C extends ErrorCode> = C extends keyof ErrorDetails ? ErrorDetails[C] : Record<string, never>;

export class OnggiError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  /** Extra facts a front end may put on the wire (e.g. the object for a 304, the size for a 416). */
  readonly detail: Readonly<DetailOf<C>>;

  constructor(code: C, message: string, ...detail: DetailArgument<C>) {
    super(message);
    this.name = 'OnggiError';
    this.code = code;
    this.detail = (detail[0] ?? {}) as DetailOf<C>;
  }
}

/** An error of any one code: narrowing on `code` narrows `detail` too. */
export type AnyOnggiError = { [C in ErrorCode]: OnggiError<C> }[ErrorCode];

/** The detail argument: the code's facts where it has any (optional), none otherwise. */
type DetailArgument<C extends ErrorCode> = C extends keyof ErrorDetails ? [detail?: ErrorDetails[C]] : [];

export function isOnggiError(err: unknown): err is AnyOnggiError {
  return err instanceof OnggiError;
}

export function fail<C extends ErrorCode>(code: C, message: string, ...detail: DetailArgument<C>): never {
  throw new OnggiError(code, message, ...detail);
}

/**
 * The error a failure of the storage itself amounts to, or null for anything else. Called by the front ends on
 * errors that are not already OnggiErrors, so that a full or vanished disk is a 507 or a 503, not a 500.
 */
export function storageFault(err: unknown): AnyOnggiError | null {
  if (err instanceof Contention) return new OnggiError('Busy', 'The server is busy; try again', { cause: err.message });
  const fault = storeFaultOf(err);
  if (!fault) return null;
  return fault.kind === 'full' ? insufficient(fault.cause) : unavailable(fault.cause);
}

function insufficient(cause: string): OnggiError<'InsufficientStorage'> {
  return new OnggiError('InsufficientStorage', 'There was not enough space to save the resource', { cause });
}

function unavailable(cause: string): OnggiError<'StorageUnavailable'> {
  return new OnggiError('StorageUnavailable', 'The storage is unavailable right now; try again later', { cause });
}

/** `err` itself when it is an OnggiError, else what it amounts to as a storage failure, else null. */
export function asOnggiError(err: unknown): AnyOnggiError | null {
  return isOnggiError(err) ? err : storageFault(err);
}
