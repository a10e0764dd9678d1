/** Shared helpers for the Swift API tests: raw HTTP requests, extra projects, header assertions. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { admin, login, type RunningServer, type Session } from './server.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** The request target exactly as it goes on the wire (no normalisation). */
  path: string;
  headers?: OutgoingHttpHeaders;
  /** Sent as one write; with no content-length header Node sends it chunked. */
  body?: Buffer | string;
  /** Sent as separate writes (chunked unless a content-length header is given). */
  chunks?: (Buffer | string)[];
}

/** A request over node:http with exact control of the path, headers and body framing. */
export async function raw(baseUrl: string, options: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.chunks) for (const chunk of options.chunks) req.write(chunk);
    req.end(options.body);
  });
}

/** Declares `declared` bytes, sends only `sent`, then destroys the socket; resolves once the socket is gone. */
export async function truncatedPut(baseUrl: string, path: string, token: string, declared: number, sent: Buffer): Promise<void> {
  const url = new URL(baseUrl);
  await new Promise<void>((resolve) => {
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path,
      agent: false,
      headers: { 'X-Auth-Token': token, 'Content-Length': String(declared), 'Content-Type': 'application/octet-stream' },
    });
    req.on('error', () => {
      resolve();
    });
    req.on('close', () => {
      resolve();
    });
    req.on('response', (res) => {
      res.resume();
    });
    req.flushHeaders();
    req.write(sent, () => {
      setTimeout(() => req.destroy(), 100);
    });
  });
}

let projectCounter = 0;

/** Creates a second project with an admin user and an access key, and logs in to it. */
export async function newProject(server: RunningServer, label: string): Promise<Session> {
  projectCounter++;
  const suffix = `${label}-${String(projectCounter)}-${randomBytes(3).toString('hex')}`;
  const project = (await admin(server.dataDir, 'project', 'create', `proj-${suffix}`)) as { id: string };
  const user = (await admin(server.dataDir, 'user', 'create', `user-${suffix}`)) as { id: string };
  await admin(server.dataDir, 'role', 'assign', project.id, user.id, 'admin');
  const key = (await admin(server.dataDir, 'key', 'create', project.id, user.id)) as { id: string; secret: string };
  return login(server.url, key.id, key.secret);
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** A unique, valid bucket name. */
export function bucketName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

type HeaderSource = Headers | IncomingHttpHeaders;

function get(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function header(headers: HeaderSource, name: string): string | undefined {
  return get(headers, name);
}

/** Every Swift response carries a transaction id under both names. */
export function assertTransactionIds(headers: HeaderSource): void {
  const txId = get(headers, 'x-trans-id');
  assert.ok(txId !== undefined && txId.length > 0, 'X-Trans-Id missing');
  assert.equal(get(headers, 'x-openstack-request-id'), txId);
}

export function auth(session: Session, extra: Record<string, string> = {}): Record<string, string> {
  return { 'X-Auth-Token': session.token, ...extra };
}

/** PUTs a container and asserts it was created. */
export async function createContainer(session: Session, name: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${session.storageUrl}/${name}`, { method: 'PUT', headers: auth(session, headers) });
  assert.equal(res.status, 201, `create container ${name}`);
}

/** PUTs an object and asserts it was created. */
export async function putObject(session: Session, container: string, key: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(`${session.storageUrl}/${container}/${encodeKey(key)}`, { method: 'PUT', headers: auth(session, headers), body });
  assert.equal(res.status, 201, `put ${container}/${key}: ${await res.clone().text()}`);
  return res;
}

/** Percent-encodes a key segment by segment, leaving `/` in place. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function storagePath(session: Session): string {
  return new URL(session.storageUrl).pathname;
}

/** Writes bytes straight onto a TCP socket and parses the single response that comes back (Connection: close). */
export async function rawSocket(baseUrl: string, requestText: string | Buffer): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  const parts: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => parts.push(chunk));
  socket.write(requestText);
  await new Promise<void>((resolve, reject) => {
    socket.on('end', () => {
      resolve();
    });
    socket.on('close', () => {
      resolve();
    });
    socket.on('error', reject);
  });
  const all = Buffer.concat(parts);
  const split = all.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(`no HTTP response: ${all.toString('latin1')}`);
  const [statusLine = '', ...lines] = all.subarray(0, split).toString('latin1').split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: all.subarray(split + 4) };
}
