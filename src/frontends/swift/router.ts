/** Swift's /v1 router: a pure function from method, raw path and headers to a typed operation. */
export interface AccountRoute<Op extends string = 'HeadAccount' | 'ListContainers' | 'PostAccount' | 'DeleteAccount'> {
  op: Op;
  account: string;
}
export interface ContainerRoute<Op extends string = 'PutContainer' | 'HeadContainer' | 'ListObjects' | 'PostContainer' | 'DeleteContainer'> {
  op: Op;
  account: string;
  container: string;
}
export interface ObjectRoute<Op extends string = 'PutObject' | 'GetObject' | 'HeadObject' | 'PostObject' | 'DeleteObject'> {
  op: Op;
  account: string;
  container: string;
  object: string;
}
/** KakaoCloud's multipart verbs on an object (`?uploads`, `?uploadId=`): see multipart.ts. */
export type UploadRoute = ObjectRoute<'InitiateUpload' | 'UploadPart' | 'ListParts' | 'AbortUpload' | 'CompleteUpload'>;
export interface CopyRoute extends ObjectRoute<'CopyObject'> {
  via: 'COPY' | 'X-Copy-From';
}

/** `PUT …?extract-archive=`: `base` is '' (the account), `<container>` or `<container>/<prefix>`. */
export interface ExtractRoute {
  op: 'ExtractArchive';
  account: string;
  base: string;
}

export type SwiftRoute =
  | AccountRoute
  | ExtractRoute
  | ContainerRoute
  | ContainerRoute<'ListUploads'>
  | ObjectRoute
  | UploadRoute
  | CopyRoute
  | { op: 'BadPath'; message: string }
  | { op: 'MethodNotAllowed' };

type Headers = Readonly<Record<string, string | string[] | undefined>>;
export type PathParts = NonNullable<ReturnType<typeof splitPath>>;

/** `target`: the raw path, with its query string if any. */
export function routeSwift(method: string, target: string, headers: Headers): SwiftRoute {
  const mark = target.indexOf('?');
  const query = new URLSearchParams(mark < 0 ? '' : target.slice(mark + 1));
  return routeParts(method, splitPath(mark < 0 ? target : target.slice(0, mark)), headers, query);
}

/** `routeSwift` for a path already split (null: a path splitPath refused). */
export function routeParts(method: string, parts: PathParts | null, headers: Headers, query: URLSearchParams): SwiftRoute {
  if (!parts) return { op: 'BadPath', message: 'Invalid UTF8 or contains NULL' };
  const { account, container, object } = parts;
  if (!account) return { op: 'BadPath', message: 'Bad URL' };
  if (method === 'PUT' && query.has('extract-archive')) return { op: 'ExtractArchive', account, base: [container, object].filter((part) => part !== null).join('/') };
  if (container === null) {
    const op = ({ GET: 'ListContainers', HEAD: 'HeadAccount', POST: 'PostAccount', DELETE: 'DeleteAccount' } as const)[method as 'GET' | 'HEAD' | 'POST' | 'DELETE'];
    return op ? { op, account } : { op: 'MethodNotAllowed' };
  }
  if (object === null) {
    if (method === 'GET' && query.has('uploads')) return { op: 'ListUploads', account, container };
    const ops = { PUT: 'PutContainer', HEAD: 'HeadContainer', GET: 'ListObjects', POST: 'PostContainer', DELETE: 'DeleteContainer' } as const;
    const op = ops[method as keyof typeof ops];
    return op ? { op, account, container } : { op: 'MethodNotAllowed' };
  }
  const upload = uploadOp(method, query);
  if (upload) return { op: upload, account, container, object };
  if (method === 'COPY') return { op: 'CopyObject', account, container, object, via: 'COPY' };
  if (method === 'PUT' && headers['x-copy-from'] !== undefined) return { op: 'CopyObject', account, container, object, via: 'X-Copy-From' };
  const ops = { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', POST: 'PostObject', DELETE: 'DeleteObject' } as const;
  const op = ops[method as keyof typeof ops];
  return op ? { op, account, container, object } : { op: 'MethodNotAllowed' };
}

function uploadOp(method: string, query: URLSearchParams): UploadRoute['op'] | null {
  if (query.has('uploadId')) return ({ PUT: 'UploadPart', GET: 'ListParts', DELETE: 'AbortUpload', POST: 'CompleteUpload' } as const)[method as 'PUT' | 'GET' | 'DELETE' | 'POST'] ?? null;
  return method === 'POST' && query.has('uploads') ? 'InitiateUpload' : null;
}

/**
 * `/v1/{account}[/{container}[/{object}]]`, split on the raw path so that `%2F` inside the object part
 * decodes to `/` while still belonging to the object name. An empty object part is the container itself.
 */
export function splitPath(rawPath: string): { account: string; container: string | null; object: string | null } | null {
  const rest = rawPath.slice('/v1/'.length);
  const [accountRaw = '', containerRaw, ...objectParts] = rest.split('/');
  const account = decode(accountRaw);
  const container = containerRaw === undefined || containerRaw === '' ? null : decode(containerRaw);
  const objectRaw = objectParts.join('/');
  const object = container === null || objectRaw === '' ? null : decode(objectRaw);
  if (account === undefined || container === undefined || object === undefined) return null;
  return { account, container, object };
}

/**
 * Decodes a path segment as Swift does (Python's `unquote`, then a strict UTF-8 check): every `%XX` becomes its
 * byte and a `%` that starts no escape stays as it is. Undefined for invalid UTF-8 or NUL.
 */
export function decode(segment: string): string | undefined {
  if (!/[%\u0080-\uffff]/.test(segment)) return segment.includes('\0') ? undefined : segment;
  let bytes: Buffer;
  try {
    const ascii = segment.replace(/[^\0-\x7f]+/g, encodeURIComponent);
    bytes = Buffer.from(ascii.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  } catch {
    return undefined;
  }
  let value: string;
  try {
    value = strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
  return value.includes('\0') ? undefined : value;
}

/** A path carried in a header (`X-Copy-From`, `Destination`): raw UTF-8 bytes in it count as escaped, as in Swift. */
export function decodeHeaderPath(value: string): string | undefined {
  return decode(value.replace(/[\u0080-\u00ff]/g, (c) => `%${c.charCodeAt(0).toString(16)}`));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
