/** The typed error set of the core. Front ends map each code to their own wire format, once. */
export type ErrorCode =
  | 'Unauthenticated'
  | 'AccessDenied'
  | 'InvalidCredentials'
  | 'NoSuchAccount'
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchAccessKey'
  | 'NoSuchProject'
  | 'NoSuchUser'
  /** The bucket has no configuration of the kind asked for (CORS, lifecycle). */
  | 'NoSuchConfiguration'
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
  | 'Busy';

export class OnggiError extends Error {
  readonly code: ErrorCode;
  /** Extra facts a front end may put on the wire (e.g. the object for a 304, the size for a 416). */
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(message);
    this.name = 'OnggiError';
    this.code = code;
    this.detail = detail;
  }
}

export function isOnggiError(err: unknown): err is OnggiError {
  return err instanceof OnggiError;
}

export function fail(code: ErrorCode, message: string, detail?: Record<string, unknown>): never {
  throw new OnggiError(code, message, detail);
}
