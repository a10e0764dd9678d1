/** S3's error table: every core error mapped once to S3's status and code; S3's own errors beside them; the XML body. */
import type { ServerResponse } from 'node:http';
import type { AnyOnggiError, ConfigurationKind, ErrorCode } from '../../core/errors.ts';
import { buildXml } from './xml.ts';

/** An error only the S3 protocol has (signatures, its headers and bodies), with S3's code and status. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra elements of the error body (S3 names some: `RequestTime`, `ExpectedDigest`, …). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

const CORE_TO_S3: Record<ErrorCode, readonly [number, string]> = {
  Unauthenticated: [403, 'AccessDenied'],
  InvalidCredentials: [403, 'InvalidAccessKeyId'],
  AccessDenied: [403, 'AccessDenied'],
  NoSuchAccount: [404, 'NoSuchBucket'],
  NoSuchBucket: [404, 'NoSuchBucket'],
  NoSuchKey: [404, 'NoSuchKey'],
  NoSuchVersion: [404, 'NoSuchVersion'],
  NoSuchUpload: [404, 'NoSuchUpload'],
  InvalidPart: [400, 'InvalidPart'],
  InvalidPartOrder: [400, 'InvalidPartOrder'],
  EntityTooSmall: [400, 'EntityTooSmall'],
  InvalidManifest: [400, 'InvalidArgument'],
  BrokenManifest: [409, 'InvalidObjectState'],
  BrokenSymlink: [409, 'InvalidObjectState'],
  ObjectDamaged: [500, 'InternalError'],
  MethodNotAllowed: [405, 'MethodNotAllowed'],
  NoSuchAccessKey: [403, 'InvalidAccessKeyId'],
  NoSuchProject: [404, 'NoSuchBucket'],
  NoSuchUser: [403, 'AccessDenied'],
  NoSuchConfiguration: [404, 'NoSuchConfiguration'],
  ObjectLocked: [403, 'AccessDenied'],
  InvalidRequest: [400, 'InvalidRequest'],
  InvalidRetentionPeriod: [400, 'InvalidRetentionPeriod'],
  InvalidTag: [400, 'InvalidTag'],
  MalformedPolicy: [400, 'MalformedPolicy'],
  BucketAlreadyExists: [409, 'BucketAlreadyExists'],
  BucketNotEmpty: [409, 'BucketNotEmpty'],
  InvalidBucketState: [409, 'InvalidBucketState'],
  ProjectNotEmpty: [409, 'Conflict'],
  AlreadyExists: [409, 'Conflict'],
  InvalidBucketName: [400, 'InvalidBucketName'],
  InvalidObjectName: [400, 'KeyTooLongError'],
  InvalidArgument: [400, 'InvalidArgument'],
  MetadataTooLarge: [400, 'MetadataTooLarge'],
  EntityTooLarge: [400, 'EntityTooLarge'],
  LengthRequired: [411, 'MissingContentLength'],
  IncompleteBody: [400, 'IncompleteBody'],
  BadDigest: [400, 'BadDigest'],
  PreconditionFailed: [412, 'PreconditionFailed'],
  NotModified: [304, 'NotModified'],
  InvalidRange: [416, 'InvalidRange'],
  ListingLimitExceeded: [400, 'InvalidArgument'],
  LimitExceeded: [400, 'TooManyBuckets'],
  Unsupported: [501, 'NotImplemented'],
  Busy: [503, 'SlowDown'],
  InsufficientStorage: [507, 'InsufficientStorage'],
  StorageUnavailable: [503, 'ServiceUnavailable'],
};

export function fromCore(err: AnyOnggiError): S3Error {
  const [status, mapped] = CORE_TO_S3[err.code];
  const code = specificCode(err) ?? mapped;
  const extra: Record<string, string> = {};
  if (err.code === 'NoSuchVersion') extra.VersionId = err.detail.versionId;
  if (err.code === 'InvalidPart') extra.PartNumber = String(err.detail.partNumber);
  return new S3Error(code, status, err.message, extra);
}

const NO_SUCH_CONFIGURATION: Record<ConfigurationKind, string> = {
  policy: 'NoSuchBucketPolicy',
  cors: 'NoSuchCORSConfiguration',
  lifecycle: 'NoSuchLifecycleConfiguration',
  emptying: 'NoSuchConfiguration',
  logging: 'NoSuchConfiguration',
  'object-lock': 'ObjectLockConfigurationNotFoundError',
  'object-retention': 'NoSuchObjectLockConfiguration',
  'object-legal-hold': 'NoSuchObjectLockConfiguration',
  'bucket-tagging': 'NoSuchTagSet',
};

/** The codes S3 gives some cases of one core error (which configuration is missing; too many tags). */
function specificCode(err: AnyOnggiError): string | undefined {
  if (err.code === 'NoSuchConfiguration') return err.detail.kind && NO_SUCH_CONFIGURATION[err.detail.kind];
  if (err.code === 'InvalidTag' && err.detail.tooMany) return 'BadRequest';
  return undefined;
}

/** Writes the error: S3's XML body (none for HEAD and 304), with the request's resource. */
export function sendS3Error(res: ServerResponse, err: S3Error, resource: string, headers: Record<string, string | number> = {}): void {
  const bodyless = res.req.method === 'HEAD' || err.status === 304;
  const xml = { Code: err.code, Message: err.message, ...err.extra, Resource: resource };
  // Without S3's namespace, as S3 sends it: botocore takes a namespaced root for another kind of error and loses the code.
  const body = bodyless ? null : Buffer.from(buildXml('Error', xml, false), 'utf8');
  res.writeHead(err.status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': body?.length ?? 0 });
  res.end(body ?? undefined);
}
