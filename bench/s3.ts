/**
 * The bench's S3 targets: this build's Onggi (and the node:http ceiling) addressed through S3, path-style, every
 * request signed by AWS's own SigV4 signer (@smithy/signature-v4) in the Authorization header. One signature costs
 * the signer ~0.1 ms, as much as the load generator's whole request, so the 4 KiB requests are signed before the
 * round that sends them (the server allows 15 minutes of clock skew) and a measured run only sends them.
 */
import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import XMLBuilder from 'fast-xml-builder';
import { XMLParser } from 'fast-xml-parser';
import type { Next, Operation, Send, Steps, Target } from './loader.ts';
import type { Contender, OnggiContender } from './targets.ts';
import { BUCKET } from './targets.ts';
import type { FastLoad, WrkRequest } from './wrk.ts';

export interface S3KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** How a target's requests are signed. */
export interface S3Access {
  /** `unsigned`: `x-amz-content-sha256: UNSIGNED-PAYLOAD`; `signed`: the body's SHA-256. */
  payload: 'unsigned' | 'signed';
  signer: RequestSigner;
  /** The target whose process serves these requests (its CPU profile). */
  server: string;
}

/** This build's Onggi through S3 (UNSIGNED-PAYLOAD; the body's SHA-256), and node:http sent the same requests. */
export const ONGGI_S3 = 'onggi-s3';
export const ONGGI_S3_SIGNED = 'onggi-s3-signed';
export const BARE_S3 = 'node:http-s3';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** A multipart upload's size, part size, and parts in flight. */
export interface PartSizes {
  total: number;
  part: number;
  queue: number;
}

/** What @aws-sdk/lib-storage's Upload does by default: 4 parts in flight (its queueSize; `--s3-part-queue`). */
export const PART_QUEUE = 4;
/** The default part size: 1 GiB in 16 parts (lib-storage's own default is 5 MiB; `--s3-part-mb`). */
export const PART_BYTES = 64 * 2 ** 20;
/** A round is signed for this rate until one has run (then for 1.5× the busiest round). */
const FIRST_ROUND_OPS_PER_SEC = 10_000;
/** Signatures older than this are made again before a round (the server refuses 15 minutes of skew). */
const RESIGN_AFTER_MS = 10 * 60 * 1000;

/** Onggi's S3 targets (UNSIGNED-PAYLOAD, signed payload) and node:http's (its ceiling with signed headers). */
export async function s3Contenders(onggi: OnggiContender, bare: Contender): Promise<{ onggi: Contender[]; bare: Contender }> {
  const keys = await createS3Key(onggi);
  const view = (base: Contender, name: string, payload: S3Access['payload'], objectPath: Target['objectPath']): Contender => ({
    spawned: base.spawned,
    target: { name, origin: base.target.origin, objectPath, listingPath: () => null, headers: {}, s3: { payload, signer: new RequestSigner(base.target.origin, keys), server: base.target.name } },
  });
  const inBucket = (key: string): string => `/${BUCKET}/${key}`;
  await warmUp(onggi.target.origin, keys);
  return {
    onggi: [view(onggi, ONGGI_S3, 'unsigned', inBucket), view(onggi, ONGGI_S3_SIGNED, 'signed', inBucket)],
    bare: view(bare, BARE_S3, 'unsigned', (key) => bare.target.objectPath(key)),
  };
}

/** A key pair of the bench's user through Keystone's EC2 credentials API, as a user gets one. */
async function createS3Key(onggi: OnggiContender): Promise<S3KeyPair> {
  const response = await fetch(`${onggi.target.origin}/identity/v3/users/${onggi.userId}/credentials/OS-EC2`, {
    method: 'POST',
    headers: { ...onggi.target.headers, 'content-type': 'application/json' },
    body: '{}',
  });
  if (!response.ok) throw new Error(`creating an S3 key: ${response.status} ${await response.text()} (--no-s3 leaves S3 out)`);
  const { credential } = (await response.json()) as { credential: { access: string; secret: string } };
  return { accessKeyId: credential.access, secretAccessKey: credential.secret };
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
type Digest = ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

/** One signed request first: the server loads its S3 front end on the first S3 request, not in a measured run. */
async function warmUp(origin: string, keys: S3KeyPair): Promise<void> {
  const path = `/${BUCKET}`;
  const response = await fetch(`${origin}${path}`, { method: 'HEAD', headers: await new RequestSigner(origin, keys).sign('HEAD', path, EMPTY_SHA256) });
  if (!response.ok) throw new Error(`HEAD ${path} through S3: ${response.status}`);
}

/** node:crypto's SHA-256 in the shape the signer takes (its default, a JavaScript SHA-256, is slower). */
class NodeSha256 {
  private hash: Digest;
  private readonly secret: BinaryLike | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytesOf(secret);
    this.hash = this.fresh();
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh(): Digest {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

export class RequestSigner {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(origin: string, keys: S3KeyPair) {
    this.url = new URL(origin);
    this.signer = new SignatureV4({ service: 's3', region: 'kr-central-2', credentials: keys, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  }

  /** The headers of a request signed now (`path` without its query). */
  async sign(method: string, path: string, payloadHash: string, query: Record<string, string> = {}): Promise<Record<string, string>> {
    const { hostname, port, host } = this.url;
    const signed = await this.signer.sign({ method, protocol: 'http:', hostname, port: Number(port), path, query, headers: { host, 'x-amz-content-sha256': payloadHash } });
    return signed.headers;
  }
}

/** What `x-amz-content-sha256` says of `body` in this access's mode. */
export function payloadHash(access: S3Access, body: Buffer | null): string {
  if (access.payload === 'unsigned') return UNSIGNED_PAYLOAD;
  return body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256;
}

/** A target's operations, and work done before each of its rounds, outside the measured time. */
export interface Source {
  next: (index: number) => Next;
  beforeRound?: () => Promise<void>;
}

/** One method with one body on many paths, signed ahead: path → headers. */
class SignedAhead {
  private readonly signed = new Map<string, Record<string, string>>();
  private signedAt = Date.now();

  constructor(
    private readonly access: S3Access,
    private readonly method: 'PUT' | 'GET' | 'DELETE',
    private readonly hash: string,
  ) {}

  get size(): number {
    return this.signed.size;
  }

  async add(paths: Iterable<string>): Promise<void> {
    for (const path of paths) this.signed.set(path, await this.access.signer.sign(this.method, path, this.hash));
  }

  /** Signs every path again when the first signatures near the server's skew limit (a very long --seconds). */
  async refresh(): Promise<void> {
    if (Date.now() - this.signedAt < RESIGN_AFTER_MS) return;
    this.signedAt = Date.now();
    await this.add([...this.signed.keys()]);
  }

  /** The request's headers: signed ahead, else (a round that outran its signatures) signed now. */
  headers(path: string, once: boolean): Record<string, string> | Promise<Record<string, string>> {
    const ready = this.signed.get(path);
    if (once) this.signed.delete(path);
    return ready ?? this.access.signer.sign(this.method, path, this.hash);
  }
}

/** PUTs of `body` under fresh keys, each round signed ahead for 1.5× the busiest round so far. */
export function s3Puts(target: Target, access: S3Access, body: Buffer, roundSeconds: number, keyOf: (n: number) => string, made: (key: string) => void): Source {
  const ahead = new SignedAhead(access, 'PUT', payloadHash(access, body));
  let issued = 0;
  let signedUpTo = 0;
  let busiest = 0;
  let issuedAtRoundStart = 0;
  return {
    beforeRound: async () => {
      busiest = Math.max(busiest, issued - issuedAtRoundStart);
      issuedAtRoundStart = issued;
      const want = issued + (busiest > 0 ? Math.ceil(busiest * 1.5) : Math.ceil(FIRST_ROUND_OPS_PER_SEC * roundSeconds));
      await ahead.refresh();
      const paths: string[] = [];
      for (; signedUpTo < want; signedUpTo++) paths.push(target.objectPath(keyOf(signedUpTo)));
      await ahead.add(paths);
    },
    next: () => {
      const key = keyOf(issued++);
      made(key);
      const path = target.objectPath(key);
      return withHeaders({ method: 'PUT', path, body, bytes: body.length }, ahead.headers(path, true));
    },
  };
}

/** GETs of random keys among up to `sample` of `keys`, signed ahead once. */
export function s3Gets(target: Target, access: S3Access, keys: string[], bytes: number, sample: number): Source {
  const ahead = new SignedAhead(access, 'GET', payloadHash(access, null));
  const paths = shuffled(keys).slice(0, sample).map((key) => target.objectPath(key));
  return {
    beforeRound: async () => {
      if (ahead.size === 0) await ahead.add(paths);
      await ahead.refresh();
    },
    next: () => {
      const path = paths[Math.floor(Math.random() * paths.length)] ?? target.objectPath('missing');
      return withHeaders({ method: 'GET', path, bytes }, ahead.headers(path, false));
    },
  };
}

/**
 * A fast loader's list of `method` requests on `keys` (PUTs with `body`), each signed ahead once: the same signed
 * request is sent again and again, as a signature holds for the server's 15 minutes of skew (signed again after 10).
 */
export function s3Signed(target: Target, access: S3Access, method: 'PUT' | 'GET', keys: string[], bytes: number, body?: Buffer): { fast: () => Promise<FastLoad> } {
  let signed: Promise<WrkRequest[]> | null = null;
  let signedAt = 0;
  const hash = payloadHash(access, body ?? null);
  const sign = async (): Promise<WrkRequest[]> => {
    const requests: WrkRequest[] = [];
    for (const key of keys) {
      const path = target.objectPath(key);
      requests.push({ method, path, headers: await access.signer.sign(method, path, hash) });
    }
    return requests;
  };
  return {
    fast: async () => {
      if (!signed || Date.now() - signedAt > RESIGN_AFTER_MS) {
        signedAt = Date.now();
        signed = sign();
      }
      return { requests: await signed, ...(body ? { body } : {}), bytes };
    },
  };
}

/** DELETEs of `keys` (unmeasured clean-up), each signed as it goes. */
export function s3Deletes(target: Target, access: S3Access, keys: string[]): () => Next {
  const ahead = new SignedAhead(access, 'DELETE', payloadHash(access, null));
  return () => {
    const key = keys.pop();
    if (key === undefined) return null;
    const path = target.objectPath(key);
    return withHeaders({ method: 'DELETE', path, bytes: 0, alsoOk: [404] }, ahead.headers(path, true));
  };
}

function withHeaders(op: Operation, headers: Record<string, string> | Promise<Record<string, string>>): Next {
  return headers instanceof Promise ? headers.then((h) => ({ ...op, headers: h })) : { ...op, headers };
}

const xmlParser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, removeNSPrefix: true });
const xmlBuilder = new XMLBuilder({});

/**
 * A multipart upload as @aws-sdk/lib-storage sends one (by default PART_QUEUE parts in flight) with UNSIGNED-PAYLOAD: Create, the parts, Complete; aborted when a part fails.
 */
export function multipartUpload(target: Target, access: S3Access, key: string, sizes: PartSizes, body: (bytes: number) => AsyncIterable<Buffer>): Steps {
  const { total } = sizes;
  const path = target.objectPath(key);
  const signed = async (method: 'POST' | 'PUT' | 'DELETE', query: Record<string, string>): Promise<Record<string, string>> => access.signer.sign(method, path, UNSIGNED_PAYLOAD, query);
  const withQuery = (query: Record<string, string>): string => `${path}?${Object.entries(query).map(([name, value]) => (value === '' ? name : `${name}=${encodeURIComponent(value)}`)).join('&')}`;
  return {
    bytes: total,
    steps: async (send: Send) => {
      const create = await send({ method: 'POST', path: withQuery({ uploads: '' }), headers: await signed('POST', { uploads: '' }) });
      const uploadId = (xmlParser.parse(create.text) as { InitiateMultipartUploadResult?: { UploadId?: string } }).InitiateMultipartUploadResult?.UploadId;
      if (create.status !== 200 || !uploadId) return false;
      const parts = await uploadParts(sizes, async (number, bytes) => {
        const query = { partNumber: String(number), uploadId };
        return send({ method: 'PUT', path: withQuery(query), headers: { ...(await signed('PUT', query)), 'content-length': String(bytes) }, body: body(bytes) });
      });
      if (!parts) {
        await send({ method: 'DELETE', path: withQuery({ uploadId }), headers: await signed('DELETE', { uploadId }) });
        return false;
      }
      const xml: string = xmlBuilder.build({ CompleteMultipartUpload: { Part: parts.map((etag, i) => ({ PartNumber: i + 1, ETag: etag })) } });
      const complete = await send({ method: 'POST', path: withQuery({ uploadId }), headers: await signed('POST', { uploadId }), body: Buffer.from(xml) });
      // Complete answers 200 and may still fail in its body.
      return complete.status === 200 && !complete.text.includes('<Error>');
    },
  };
}

/** The parts' ETags in order, `sizes.queue` at a time; null when one failed. */
async function uploadParts(sizes: PartSizes, put: (number: number, bytes: number) => ReturnType<Send>): Promise<string[] | null> {
  const count = Math.ceil(sizes.total / sizes.part);
  const etags: string[] = [];
  let nextPart = 0;
  let failed = false;
  const uploader = async (): Promise<void> => {
    while (!failed && nextPart < count) {
      const index = nextPart++;
      const response = await put(index + 1, Math.min(sizes.part, sizes.total - index * sizes.part));
      const etag = response.headers.etag;
      if (response.status >= 300 || typeof etag !== 'string') failed = true;
      else etags[index] = etag;
    }
  };
  await Promise.all(Array.from({ length: sizes.queue }, uploader));
  return failed ? null : etags;
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
