/**
 * The route → action table: every route of every front end, with the actions of `authorize()` it requires. For
 * each bucket route the table is checked against the server itself, over real HTTP: a bucket policy denying
 * exactly the route's actions makes it 403, and one denying every other bucket action leaves it working. (The
 * server runs in this process, so the test can set policies, which no API writes yet.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { BUCKET_ADMIN_ACTIONS, BUCKET_READ_ACTIONS, BUCKET_WRITE_ACTIONS, type Action, type BucketAction } from '../../src/core/authz.ts';
import { bootstrap } from '../../src/core/bootstrap.ts';
import type { Core } from '../../src/core/index.ts';
import { TABLES } from '../../src/core/model.ts';
import type { SwiftRoute } from '../../src/frontends/swift/router.ts';
import { ClientAddresses } from '../../src/http/client-address.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { openCore } from '../../src/open-stores.ts';
import { createS3FrontEnd } from '../../src/frontends/s3/handler.ts';
import { createRouter } from '../../src/routes.ts';
import { signedFetch, type S3KeyPair } from '../helpers/s3.ts';
import { login, makeTempDir, removeDir, ROOT_KEY_ID, ROOT_SECRET, type Session } from '../helpers/server.ts';

type SwiftOp = Exclude<SwiftRoute['op'], 'BadPath' | 'MethodNotAllowed'>;

/**
 * Swift (/v1). A route that may take either of two actions names both (PUT on a container creates it or sets its
 * metadata). `PostContainerAcl` is a container POST carrying X-Container-Read/-Write; `FormPost` a signed form's
 * upload (its caller is a signed one, scoped to the form's prefix: swift-formpost.test.ts); `AuthV1` is
 * authentication itself.
 */
const SWIFT: Record<SwiftOp | 'PostContainerAcl' | 'FormPost' | 'AuthV1', readonly Action[]> = {
  PostContainerAcl: ['PutBucketMetadata', 'PutBucketAcl'],
  FormPost: ['PutObject'],
  AuthV1: [],
  HeadAccount: ['ListBuckets'],
  ListContainers: ['ListBuckets'],
  PostAccount: ['PutAccountMetadata'],
  // Only `?bulk-delete`: each path named is a DeleteObject (or DeleteBucket) of its own.
  DeleteAccount: ['DeleteObject', 'DeleteBucket'],
  PutContainer: ['CreateBucket', 'PutBucketMetadata'],
  HeadContainer: ['HeadBucket'],
  ListObjects: ['ListObjects'],
  PostContainer: ['PutBucketMetadata'],
  DeleteContainer: ['DeleteBucket'],
  PutObject: ['PutObject'],
  GetObject: ['GetObject'],
  HeadObject: ['GetObject'],
  PostObject: ['PutObject'],
  DeleteObject: ['DeleteObject'],
  CopyObject: ['GetObject', 'PutObject'],
  // `?extract-archive`: each file a PutObject of its own, each container named from the account a CreateBucket.
  ExtractArchive: ['CreateBucket', 'PutObject'],
  // KakaoCloud's multipart verbs (swift-multipart.test.ts), with the actions of S3's.
  InitiateUpload: ['PutObject'],
  UploadPart: ['PutObject'],
  ListParts: ['ListMultipartUploadParts'],
  ListUploads: ['ListMultipartUploads'],
  AbortUpload: ['AbortMultipartUpload'],
  CompleteUpload: ['PutObject'],
};

/** S3 (path-style, SigV4). DeleteObjects is not here: like S3, it answers 200 with each key's refusal in its body. */
const S3: Record<string, readonly Action[]> = {
  HeadBucket: ['HeadBucket'],
  ListObjects: ['ListObjects'],
  ListObjectsV2: ['ListObjects'],
  ListObjectVersions: ['ListObjectVersions'],
  ListMultipartUploads: ['ListMultipartUploads'],
  GetBucketLocation: ['GetBucketLocation'],
  GetBucketVersioning: ['GetBucketVersioning'],
  GetBucketAcl: ['GetBucketAcl'],
  PutBucketAcl: ['PutBucketAcl'],
  DeleteBucket: ['DeleteBucket'],
  PutObject: ['PutObject'],
  GetObject: ['GetObject'],
  HeadObject: ['GetObject'],
  DeleteObject: ['DeleteObject'],
  CopyObject: ['GetObject', 'PutObject'],
  CreateMultipartUpload: ['PutObject'],
  GetObjectTagging: ['GetObjectTagging'],
  PutObjectTagging: ['PutObjectTagging'],
  DeleteObjectTagging: ['DeleteObjectTagging'],
  GetBucketTagging: ['GetBucketTagging'],
  PutBucketTagging: ['PutBucketTagging'],
  DeleteBucketTagging: ['PutBucketTagging'],
  GetObjectLockConfiguration: ['GetBucketObjectLockConfiguration'],
  PutObjectLockConfiguration: ['PutBucketObjectLockConfiguration'],
  GetObjectRetention: ['GetObjectRetention'],
  PutObjectRetention: ['PutObjectRetention'],
  GetObjectLegalHold: ['GetObjectLegalHold'],
  PutObjectLegalHold: ['PutObjectLegalHold'],
  GetBucketLifecycleConfiguration: ['GetLifecycleConfiguration'],
  PutBucketLifecycleConfiguration: ['PutLifecycleConfiguration'],
  DeleteBucketLifecycle: ['PutLifecycleConfiguration'],
  GetBucketCors: ['GetBucketCORS'],
  PutBucketCors: ['PutBucketCORS'],
  DeleteBucketCors: ['PutBucketCORS'],
  GetBucketEncryption: ['GetEncryptionConfiguration'],
  PutBucketEncryption: ['PutEncryptionConfiguration'],
  DeleteBucketEncryption: ['PutEncryptionConfiguration'],
  GetObjectAttributes: ['GetObject', 'GetObjectAttributes'],
  GetBucketLogging: ['GetBucketLogging'],
  // Turning logging off; turning it on also needs PutObject on the target bucket.
  PutBucketLogging: ['PutBucketLogging'],
  GetBucketPolicyStatus: ['GetBucketPolicyStatus'],
};

/** The bucket API (/v1_ext). */
const BUCKET_EXT: Record<string, readonly Action[]> = {
  CreateBucket: ['CreateBucket'],
  ListBuckets: ['ListBuckets'],
  GetBucket: ['HeadBucket'],
  UpdateBucketAcl: ['PutBucketAcl'],
  DeleteBucket: ['DeleteBucket'],
  ListPermissions: ['GetBucketAcl'],
  PutPermission: ['PutBucketRoles'],
  DeletePermission: ['PutBucketRoles'],
  GetCors: ['GetBucketCORS'],
  PutCors: ['PutBucketCORS'],
  DeleteCors: ['PutBucketCORS'],
  GetLogging: ['GetBucketLogging'],
  PutLogging: ['PutBucketLogging'],
  DeleteLogging: ['PutBucketLogging'],
  StartEmptying: ['DeleteBucket'],
  GetEmptying: ['GetBucketConfig'],
  GetLifecycle: ['GetLifecycleConfiguration'],
  PutLifecycle: ['PutLifecycleConfiguration'],
  DeleteLifecycle: ['PutLifecycleConfiguration'],
  SignTempUrl: ['GetObject'],
  GetObjectLock: ['GetBucketObjectLockConfiguration'],
  PutObjectLock: ['PutBucketObjectLockConfiguration'],
};

/** IAM (/identity): issuing and checking tokens is authentication itself; the rest is the owner rule. */
const IAM: Record<string, readonly Action[]> = {
  IssueToken: [],
  ValidateToken: [],
  RevokeToken: [],
  AuthProjects: [],
  UserProjects: ['ListOwnProjects'],
  ListKeys: ['ListAccessKeys'],
  GetKey: ['ListAccessKeys'],
  CreateKey: ['CreateAccessKey'],
  DeleteKey: ['DeleteAccessKey'],
  ListS3Credentials: ['ListAccessKeys'],
  GetS3Credential: ['ListAccessKeys'],
  CreateS3Credential: ['CreateAccessKey'],
  DeleteS3Credential: ['DeleteAccessKey'],
  Versions: [],
  Version: [],
};

const ALL_BUCKET_ACTIONS: readonly BucketAction[] = [...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS, ...BUCKET_ADMIN_ACTIONS];
const BUCKET = 'route-actions';
/** A bucket made with Object Lock, for the lock subresources. */
const LOCK_BUCKET = 'route-actions-lock';

interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Puts in place what the call needs to succeed (an object to read, a bucket to delete). */
  prepare?: () => Promise<void>;
  /** Signed for S3 (SigV4) rather than with a token. */
  s3?: boolean;
}

let core: Core;
let baseUrl: string;
let session: Session;
let dataDir: string;
let close: () => Promise<void>;
let s3Keys: S3KeyPair;

before(async () => {
  dataDir = await makeTempDir();
  const config = loadConfig({ dataDir, listen: '127.0.0.1:0' }, { ONGGI_ROOT_ACCESS_KEY_ID: ROOT_KEY_ID, ONGGI_ROOT_SECRET_ACCESS_KEY: ROOT_SECRET });
  core = await openCore(config, () => undefined);
  await bootstrap(core.identity, { id: ROOT_KEY_ID, secret: ROOT_SECRET });
  const server = createHttpServer({
    core,
    log: pino({ level: 'silent' }),
    accessLog: false,
    publicUrl: null,
    region: config.region,
    limits: config.http,
    clientAddresses: new ClientAddresses([]),
    route: createRouter({ s3: createS3FrontEnd() }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await core.store.close();
  };
  session = await login(baseUrl);
  const made = await core.s3Credentials.create(session.projectId, 'admin');
  s3Keys = { accessKeyId: made.credential.access, secretAccessKey: made.secret };
  await send({ method: 'PUT', path: `/v1/${session.projectId}/${BUCKET}` }, 201);
  await send({ s3: true, method: 'PUT', path: `/${LOCK_BUCKET}`, headers: { 'x-amz-bucket-object-lock-enabled': 'true' } }, 200);
});

after(async () => {
  await close();
  await removeDir(dataDir);
});

async function send(call: Call, expected?: number): Promise<number> {
  if (call.s3) {
    const [path = '', query] = call.path.split('?');
    const signed = await signedFetch({ url: baseUrl }, s3Keys, call.method, path, {
      headers: call.headers ?? {},
      body: call.body ?? '',
      query: Object.fromEntries(new URLSearchParams(query ?? '')),
    });
    await signed.arrayBuffer();
    if (expected !== undefined) assert.equal(signed.status, expected, `${call.method} ${call.path}`);
    return signed.status;
  }
  const response = await fetch(`${baseUrl}${call.path}`, {
    method: call.method,
    headers: { 'X-Auth-Token': session.token, ...call.headers },
    ...(call.body === undefined ? {} : { body: call.body }),
  });
  await response.arrayBuffer();
  if (expected !== undefined) assert.equal(response.status, expected, `${call.method} ${call.path}`);
  return response.status;
}

async function denyOnAllBuckets(actions: readonly BucketAction[]): Promise<void> {
  const caller = await core.identity.callerFromToken(session.token);
  assert.ok(caller);
  const policy = actions.length === 0 ? [] : [{ effect: 'Deny' as const, principal: '*' as const, actions: actions.map((a) => `s3:${a}`) }];
  for (const name of [BUCKET, 'route-actions-gone', LOCK_BUCKET]) {
    if (await core.store.get(TABLES.buckets, session.projectId, name)) await core.buckets.setPolicy(caller, session.projectId, name, policy);
  }
}

function putObject(key: string): () => Promise<void> {
  return async () => {
    await denyOnAllBuckets([]);
    await send({ method: 'PUT', path: `/v1/${session.projectId}/${BUCKET}/${key}`, body: 'x' }, 201);
  };
}

/** Puts an object through S3 with `headers` (tags, lock settings), with nothing denied. */
function s3PutObject(bucket: string, key: string, headers: Record<string, string> = {}): () => Promise<void> {
  return async () => {
    await denyOnAllBuckets([]);
    await send({ s3: true, method: 'PUT', path: `/${bucket}/${key}`, body: 'x', headers }, 200);
  };
}

/** A Swift multipart upload of `key` with part 1 uploaded, begun with nothing denied: its id and the part's ETag, for the call's path and body. */
function swiftUpload(key: string): { prepare: () => Promise<void>; readonly id: string; readonly etag: string } {
  const upload = { id: '', etag: '' };
  return {
    prepare: async () => {
      await denyOnAllBuckets([]);
      const base = `${baseUrl}/v1/${session.projectId}/${BUCKET}/${key}`;
      const begun = await fetch(`${base}?uploads`, { method: 'POST', headers: { 'X-Auth-Token': session.token } });
      upload.id = ((await begun.json()) as { upload_id: string }).upload_id;
      const part = await fetch(`${base}?uploadId=${upload.id}&partNumber=1`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body: 'x' });
      upload.etag = part.headers.get('etag') ?? '';
    },
    get id() {
      return upload.id;
    },
    get etag() {
      return upload.etag;
    },
  };
}

/** A call whose path (and body) name an upload made by its `prepare`. */
function uploadCall(method: string, key: string, query: string, withBody = false): Call {
  const upload = swiftUpload(key);
  return {
    method,
    prepare: upload.prepare,
    get path() {
      return `/v1/${session.projectId}/${BUCKET}/${key}?uploadId=${upload.id}${query}`;
    },
    get body() {
      return withBody ? JSON.stringify([{ part_number: 1, etag: upload.etag }]) : undefined;
    },
  };
}

function bucketCalls(): [string, Call][] {
  const v1 = `/v1/${session.projectId}`;
  const ext = '/v1_ext/bucket';
  const json = { 'Content-Type': 'application/json' };
  const gone = 'route-actions-gone';
  const until = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
  const recreateGone = async (): Promise<void> => {
    await denyOnAllBuckets([]);
    await send({ method: 'PUT', path: `${v1}/${gone}` });
  };
  return [
    ['swift HeadContainer', { method: 'HEAD', path: `${v1}/${BUCKET}` }],
    ['swift ListObjects', { method: 'GET', path: `${v1}/${BUCKET}` }],
    ['swift PostContainer', { method: 'POST', path: `${v1}/${BUCKET}`, headers: { 'X-Container-Meta-A': 'b' } }],
    ['swift PostContainerAcl', { method: 'POST', path: `${v1}/${BUCKET}`, headers: { 'X-Container-Read': '.r:*', 'X-Container-Write': `${session.projectId}:*` } }],
    ['swift PutContainer (existing)', { method: 'PUT', path: `${v1}/${BUCKET}`, headers: { 'X-Container-Meta-A': 'c' } }],
    ['swift DeleteContainer', { method: 'DELETE', path: `${v1}/${gone}`, prepare: recreateGone }],
    ['swift PutObject', { method: 'PUT', path: `${v1}/${BUCKET}/new`, body: 'hello' }],
    ['swift GetObject', { method: 'GET', path: `${v1}/${BUCKET}/obj`, prepare: putObject('obj') }],
    ['swift HeadObject', { method: 'HEAD', path: `${v1}/${BUCKET}/obj`, prepare: putObject('obj') }],
    ['swift PostObject', { method: 'POST', path: `${v1}/${BUCKET}/obj`, headers: { 'X-Object-Meta-A': 'b' }, prepare: putObject('obj') }],
    ['swift DeleteObject', { method: 'DELETE', path: `${v1}/${BUCKET}/doomed`, prepare: putObject('doomed') }],
    ['swift CopyObject', { method: 'COPY', path: `${v1}/${BUCKET}/obj`, headers: { Destination: `${BUCKET}/copy` }, prepare: putObject('obj') }],
    ['swift InitiateUpload', { method: 'POST', path: `${v1}/${BUCKET}/swift-mpu?uploads` }],
    ['swift ListUploads', { method: 'GET', path: `${v1}/${BUCKET}?uploads` }],
    ['swift UploadPart', uploadCall('PUT', 'swift-mpu', '&partNumber=2')],
    ['swift ListParts', uploadCall('GET', 'swift-mpu', '')],
    ['swift AbortUpload', uploadCall('DELETE', 'swift-mpu', '')],
    ['swift CompleteUpload', uploadCall('POST', 'swift-mpu', '', true)],
    ['s3 HeadBucket', { s3: true, method: 'HEAD', path: `/${BUCKET}` }],
    ['s3 ListObjects', { s3: true, method: 'GET', path: `/${BUCKET}` }],
    ['s3 ListObjectsV2', { s3: true, method: 'GET', path: `/${BUCKET}?list-type=2` }],
    ['s3 ListObjectVersions', { s3: true, method: 'GET', path: `/${BUCKET}?versions=` }],
    ['s3 ListMultipartUploads', { s3: true, method: 'GET', path: `/${BUCKET}?uploads=` }],
    ['s3 GetBucketLocation', { s3: true, method: 'GET', path: `/${BUCKET}?location=` }],
    ['s3 GetBucketVersioning', { s3: true, method: 'GET', path: `/${BUCKET}?versioning=` }],
    ['s3 GetBucketAcl', { s3: true, method: 'GET', path: `/${BUCKET}?acl=` }],
    ['s3 PutBucketAcl', { s3: true, method: 'PUT', path: `/${BUCKET}?acl=`, headers: { 'x-amz-acl': 'private' } }],
    ['s3 DeleteBucket', { s3: true, method: 'DELETE', path: `/${gone}`, prepare: recreateGone }],
    ['s3 PutObject', { s3: true, method: 'PUT', path: `/${BUCKET}/s3-new`, body: 'hello' }],
    ['s3 GetObject', { s3: true, method: 'GET', path: `/${BUCKET}/obj`, prepare: putObject('obj') }],
    ['s3 HeadObject', { s3: true, method: 'HEAD', path: `/${BUCKET}/obj`, prepare: putObject('obj') }],
    ['s3 DeleteObject', { s3: true, method: 'DELETE', path: `/${BUCKET}/doomed`, prepare: putObject('doomed') }],
    ['s3 CopyObject', { s3: true, method: 'PUT', path: `/${BUCKET}/s3-copy`, headers: { 'x-amz-copy-source': `/${BUCKET}/obj` }, prepare: putObject('obj') }],
    ['s3 CreateMultipartUpload', { s3: true, method: 'POST', path: `/${BUCKET}/s3-mpu?uploads=` }],
    ['s3 GetObjectAttributes', { s3: true, method: 'GET', path: `/${BUCKET}/obj?attributes=`, headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' }, prepare: putObject('obj') }],
    ['s3 GetObjectTagging', { s3: true, method: 'GET', path: `/${BUCKET}/obj?tagging=`, prepare: putObject('obj') }],
    ['s3 PutObjectTagging', { s3: true, method: 'PUT', path: `/${BUCKET}/obj?tagging=`, body: TAGGING, prepare: putObject('obj') }],
    ['s3 DeleteObjectTagging', { s3: true, method: 'DELETE', path: `/${BUCKET}/obj?tagging=`, prepare: putObject('obj') }],
    ['s3 GetBucketTagging', { s3: true, method: 'GET', path: `/${BUCKET}?tagging=`, prepare: putBucketTags }],
    ['s3 PutBucketTagging', { s3: true, method: 'PUT', path: `/${BUCKET}?tagging=`, body: TAGGING }],
    ['s3 DeleteBucketTagging', { s3: true, method: 'DELETE', path: `/${BUCKET}?tagging=` }],
    ['s3 GetObjectLockConfiguration', { s3: true, method: 'GET', path: `/${LOCK_BUCKET}?object-lock=` }],
    ['s3 PutObjectLockConfiguration', { s3: true, method: 'PUT', path: `/${LOCK_BUCKET}?object-lock=`, body: '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>' }],
    ['s3 GetObjectRetention', { s3: true, method: 'GET', path: `/${LOCK_BUCKET}/ret?retention=`, prepare: s3PutObject(LOCK_BUCKET, 'ret', { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': until }) }],
    ['s3 PutObjectRetention', { s3: true, method: 'PUT', path: `/${LOCK_BUCKET}/ret?retention=`, body: `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${until}</RetainUntilDate></Retention>`, prepare: s3PutObject(LOCK_BUCKET, 'ret') }],
    ['s3 GetObjectLegalHold', { s3: true, method: 'GET', path: `/${LOCK_BUCKET}/held?legal-hold=`, prepare: s3PutObject(LOCK_BUCKET, 'held', { 'x-amz-object-lock-legal-hold': 'OFF' }) }],
    ['s3 PutObjectLegalHold', { s3: true, method: 'PUT', path: `/${LOCK_BUCKET}/held?legal-hold=`, body: '<LegalHold><Status>OFF</Status></LegalHold>', prepare: s3PutObject(LOCK_BUCKET, 'held') }],
    ['s3 GetBucketLifecycleConfiguration', { s3: true, method: 'GET', path: `/${BUCKET}?lifecycle=`, prepare: putLifecycle }],
    ['s3 PutBucketLifecycleConfiguration', { s3: true, method: 'PUT', path: `/${BUCKET}?lifecycle=`, body: S3_LIFECYCLE, headers: { 'Content-MD5': md5Of(S3_LIFECYCLE) } }],
    ['s3 DeleteBucketLifecycle', { s3: true, method: 'DELETE', path: `/${BUCKET}?lifecycle=`, prepare: putLifecycle }],
    ['s3 GetBucketCors', { s3: true, method: 'GET', path: `/${BUCKET}?cors=`, prepare: putCors }],
    ['s3 PutBucketCors', { s3: true, method: 'PUT', path: `/${BUCKET}?cors=`, body: S3_CORS }],
    ['s3 DeleteBucketCors', { s3: true, method: 'DELETE', path: `/${BUCKET}?cors=` }],
    ['s3 GetBucketEncryption', { s3: true, method: 'GET', path: `/${BUCKET}?encryption=`, prepare: putEncryption }],
    ['s3 PutBucketEncryption', { s3: true, method: 'PUT', path: `/${BUCKET}?encryption=`, body: S3_ENCRYPTION }],
    ['s3 DeleteBucketEncryption', { s3: true, method: 'DELETE', path: `/${BUCKET}?encryption=` }],
    ['s3 GetBucketLogging', { s3: true, method: 'GET', path: `/${BUCKET}?logging=` }],
    ['s3 PutBucketLogging', { s3: true, method: 'PUT', path: `/${BUCKET}?logging=`, body: '<BucketLoggingStatus/>' }],
    // The policy each case sets is there to be looked at. (Get/Put/DeleteBucketPolicy are not cases: no policy
    // refuses them to the bucket's Storage Admins, whom this test signs as; s3-bucket-policy.test.ts has them.)
    ['s3 GetBucketPolicyStatus', { s3: true, method: 'GET', path: `/${BUCKET}?policyStatus=` }],
    ['bucket-ext GetBucket', { method: 'GET', path: `${ext}/${BUCKET}` }],
    ['bucket-ext UpdateBucketAcl', { method: 'POST', path: `${ext}/${BUCKET}`, headers: json, body: JSON.stringify({ acl: { public: 'private' } }) }],
    ['bucket-ext DeleteBucket', { method: 'DELETE', path: `${ext}/${gone}`, prepare: recreateGone }],
    ['bucket-ext ListPermissions', { method: 'GET', path: `${ext}/${BUCKET}/permissions` }],
    ['bucket-ext GetCors', { method: 'GET', path: `${ext}/${BUCKET}/cors`, prepare: putCors }],
    ['bucket-ext PutCors', { method: 'PUT', path: `${ext}/${BUCKET}/cors`, headers: json, body: corsBody() }],
    ['bucket-ext DeleteCors', { method: 'DELETE', path: `${ext}/${BUCKET}/cors` }],
    ['bucket-ext GetLifecycle', { method: 'GET', path: `${ext}/${BUCKET}/lifecycle`, prepare: putLifecycle }],
    ['bucket-ext PutLifecycle', { method: 'PUT', path: `${ext}/${BUCKET}/lifecycle`, headers: json, body: lifecycleBody() }],
    ['bucket-ext DeleteLifecycle', { method: 'DELETE', path: `${ext}/${BUCKET}/lifecycle`, prepare: putLifecycle }],
    ['bucket-ext GetEmptying', { method: 'GET', path: `${ext}/${gone}/empty`, prepare: startEmptying }],
    ['bucket-ext StartEmptying', { method: 'POST', path: `${ext}/${gone}/empty`, prepare: recreateGone }],
    ['bucket-ext GetObjectLock', { method: 'GET', path: `${ext}/${LOCK_BUCKET}/object_lock` }],
    ['bucket-ext PutObjectLock', { method: 'PUT', path: `${ext}/${LOCK_BUCKET}/object_lock`, headers: json, body: JSON.stringify({ enabled: true, default_retention: null }) }],
    ['bucket-ext SignTempUrl', { method: 'POST', path: `${ext}/${BUCKET}/temp_url`, headers: json, body: JSON.stringify({ object: 'obj', expires_in: 60 }), prepare: keyedObject }],
  ];

  /** An object in a bucket with a temp URL key, for a link to be signed. */
  async function keyedObject(): Promise<void> {
    await putObject('obj')();
    await send({ method: 'POST', path: `${v1}/${BUCKET}`, headers: { 'X-Container-Meta-Temp-URL-Key': 'route-actions-key-not-real' } }, 204);
  }

  async function putBucketTags(): Promise<void> {
    await denyOnAllBuckets([]);
    await send({ s3: true, method: 'PUT', path: `/${BUCKET}?tagging=`, body: TAGGING }, 204);
  }
  async function putEncryption(): Promise<void> {
    await denyOnAllBuckets([]);
    await send({ s3: true, method: 'PUT', path: `/${BUCKET}?encryption=`, body: S3_ENCRYPTION }, 200);
  }
  async function putCors(): Promise<void> {
    await denyOnAllBuckets([]);
    await send({ method: 'PUT', path: `${ext}/${BUCKET}/cors`, headers: json, body: corsBody() }, 200);
  }
  async function putLifecycle(): Promise<void> {
    await denyOnAllBuckets([]);
    await send({ method: 'PUT', path: `${ext}/${BUCKET}/lifecycle`, headers: json, body: lifecycleBody() }, 200);
  }
  async function startEmptying(): Promise<void> {
    await recreateGone();
    await send({ method: 'POST', path: `${ext}/${gone}/empty` }, 202);
  }
}

const S3_LIFECYCLE = '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>';
const S3_CORS = '<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>';
const S3_ENCRYPTION = '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>';

function md5Of(text: string): string {
  return createHash('md5').update(text).digest('base64');
}

const TAGGING = '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>';

function corsBody(): string {
  return JSON.stringify({ rules: [{ allowed_origins: ['https://app.example'], allowed_methods: ['GET'] }] });
}

function lifecycleBody(): string {
  return JSON.stringify({ rules: [{ id: 'r1', status: 'Enabled', prefix: 'tmp/', expiration: { days: 1 } }] });
}

function actionsOf(name: string): readonly Action[] {
  const [frontEnd, op = ''] = name.split(' ');
  const table = frontEnd === 'swift' ? (SWIFT as Record<string, readonly Action[]>) : frontEnd === 's3' ? S3 : BUCKET_EXT;
  const actions = table[op];
  assert.ok(actions, `${name} is in the table`);
  return actions;
}

describe('every bucket route requires exactly the actions its table names', () => {
  test('each case of the table', async (t) => {
    for (const [name, call] of bucketCalls()) {
      const actions = actionsOf(name).filter((a): a is BucketAction => (ALL_BUCKET_ACTIONS as readonly string[]).includes(a));
      await t.test(name, async () => {
        await call.prepare?.();
        await denyOnAllBuckets(actions);
        assert.equal(await send(call), 403, `denying ${actions.join(', ')} refuses ${name}`);
        await call.prepare?.();
        await denyOnAllBuckets(ALL_BUCKET_ACTIONS.filter((a) => !actions.includes(a)));
        const status = await send(call);
        assert.ok(status >= 200 && status < 300, `denying every other action leaves ${name} working (got ${status})`);
        await denyOnAllBuckets([]);
      });
    }
  });

  test('the tables cover every action a bucket route can need, and every action is known', () => {
    const used = new Set([...Object.values(SWIFT), ...Object.values(S3), ...Object.values(BUCKET_EXT), ...Object.values(IAM)].flat());
    for (const action of used) assert.ok(typeof action === 'string');
    for (const action of ['GetObject', 'PutObject', 'DeleteObject', 'ListObjects', 'DeleteBucket', 'PutBucketCORS', 'GetBucketConfig'] as const) {
      assert.ok(used.has(action), action);
    }
  });
});
