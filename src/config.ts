/** One typed configuration: flags > environment > defaults. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { namingProfile, type NamingProfile } from './core/constraints.ts';
import { checkAllowList } from './core/authz.ts';
import { isOnggiError } from './core/errors.ts';

/** What one client may cost the server: time to send its headers or body, idle keep-alive, connections. */
export interface HttpLimits {
  headersTimeoutMs: number;
  /** Longest wait for the next byte of a request body, or for a client to take the next bytes of a response. */
  bodyTimeoutMs: number;
  /**
   * Longest time the whole body of a request without a user's token may take (the token endpoint's, a refused
   * request's), plus its declared length at minBodyBytesPerSecond: a client trickling bytes cannot hold a connection.
   */
  untrustedBodyMs: number;
  minBodyBytesPerSecond: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export interface Config {
  listenHost: string;
  listenPort: number;
  dataDir: string;
  /** Base URL put into token catalogs and object URLs; derived from the listener when unset. */
  publicUrl: string | null;
  /**
   * Without publicUrl: Host headers (`host` or `host:port`) that may name this server in token catalogs
   * (ONGGI_PUBLIC_HOSTS); any other Host gets the listen address.
   */
  publicHosts: string[];
  region: string;
  rootAccessKeyId: string | null;
  rootSecretAccessKey: string | null;
  logLevel: string;
  /** `postgres://…` for a metadata database shared by several nodes; null for SQLite in the data directory. */
  metadataUrl: string | null;
  /** PostgreSQL's statement_timeout and lock_timeout on every connection (ONGGI_METADATA_STATEMENT_TIMEOUT, …_LOCK_TIMEOUT). */
  metadataTimeouts: { statementMs: number; lockMs: number };
  blobDir: string;
  bucketNames: NamingProfile;
  http: HttpLimits;
  /** Peers (CIDR blocks) whose Forwarded / X-Forwarded-For name the client; nobody else's do. */
  trustedProxies: string[];
  /** The one header trusted proxies set to name the client (ONGGI_TRUSTED_PROXY_HEADER); the other is ignored. */
  trustedProxyHeader: 'x-forwarded-for' | 'forwarded';
  /** File holding the master key (64 hex characters); null: `server.key` in the data directory. */
  masterKeyFile: string | null;
  /** ONGGI_MASTER_KEY: the master key itself, when a secret store hands it over in the environment. */
  masterKey: string | null;
  /** A hardware security module (PKCS#11) holding the master key in place of masterKeyFile/masterKey; null: none. */
  pkcs11: Pkcs11Config | null;
  /** A built web console to serve at /console instead of the package's own (console development). */
  consoleDir: string | null;
  /** One line per request at level info (ONGGI_ACCESS_LOG=off turns it off). */
  accessLog: boolean;
  /** S3 virtual-host-style addressing answers on `<bucket>.<s3Domain>` (ONGGI_S3_DOMAIN); null: path-style only. */
  s3Domain: string | null;
  /** S3's SSE-C keys accepted over plain HTTP from any client (ONGGI_SSE_C_OVER_HTTP=on); else only TLS or loopback. */
  sseCustomerKeysOverHttp: boolean;
}

/** Where the PKCS#11 key that wraps data keys is: the module's library, its token, the PIN, the key's label. */
export interface Pkcs11Config {
  /** ONGGI_PKCS11_MODULE: the module's shared library (softhsm2: /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** ONGGI_PKCS11_TOKEN: the token's label; or ONGGI_PKCS11_SLOT: its slot's ID. One of the two is set. */
  tokenLabel: string | null;
  slot: bigint | null;
  /** ONGGI_PKCS11_PIN_FILE (read when the module is opened) or ONGGI_PKCS11_PIN. */
  pinFile: string | null;
  pin: string | null;
  /** ONGGI_PKCS11_KEY_LABEL: the AES key's CKA_LABEL (default onggi-master-key). */
  keyLabel: string;
}

export interface ConfigFlags {
  listen?: string | undefined;
  dataDir?: string | undefined;
  publicUrl?: string | undefined;
}

const listenSchema = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/, 'expected host:port');

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const listen = listenSchema.parse(flags.listen ?? env.ONGGI_LISTEN ?? '127.0.0.1:8080');
  const split = listen.lastIndexOf(':');
  const host = listen.slice(0, split).replace(/^\[|\]$/g, '');
  const port = z.coerce.number().int().min(0).max(65535).parse(listen.slice(split + 1));
  const publicUrl = flags.publicUrl ?? env.ONGGI_PUBLIC_URL ?? null;
  if (publicUrl !== null) z.url().parse(publicUrl);
  const rootId = env.ONGGI_ROOT_ACCESS_KEY_ID ?? null;
  const rootSecret = env.ONGGI_ROOT_SECRET_ACCESS_KEY ?? null;
  if ((rootId === null) !== (rootSecret === null)) {
    throw new Error('Set both ONGGI_ROOT_ACCESS_KEY_ID and ONGGI_ROOT_SECRET_ACCESS_KEY, or neither');
  }
  const dataDir = resolve(flags.dataDir ?? env.ONGGI_DATA_DIR ?? './data');
  const metadataUrl = env.ONGGI_METADATA_URL ?? null;
  if (metadataUrl !== null && !/^postgres(ql)?:\/\//.test(metadataUrl)) throw new Error('ONGGI_METADATA_URL must be a postgres:// URL');
  return {
    listenHost: host,
    listenPort: port,
    dataDir,
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    publicHosts: publicHosts(env.ONGGI_PUBLIC_HOSTS),
    region: env.ONGGI_REGION ?? 'kr-central-2',
    rootAccessKeyId: rootId,
    rootSecretAccessKey: rootSecret,
    logLevel: env.ONGGI_LOG_LEVEL ?? 'info',
    metadataUrl,
    metadataTimeouts: { statementMs: seconds(env, 'ONGGI_METADATA_STATEMENT_TIMEOUT', 30), lockMs: seconds(env, 'ONGGI_METADATA_LOCK_TIMEOUT', 10) },
    blobDir: resolve(env.ONGGI_BLOB_DIR ?? resolve(dataDir, 'blobs')),
    bucketNames: namingProfile(env.ONGGI_BUCKET_NAMES ?? 'kakaocloud'),
    http: httpLimits(env),
    trustedProxies: trustedProxies(env.ONGGI_TRUSTED_PROXIES),
    trustedProxyHeader: proxyHeader(env.ONGGI_TRUSTED_PROXY_HEADER),
    masterKeyFile: env.ONGGI_MASTER_KEY_FILE ? resolve(env.ONGGI_MASTER_KEY_FILE) : null,
    masterKey: env.ONGGI_MASTER_KEY || null,
    pkcs11: pkcs11(env),
    consoleDir: env.ONGGI_CONSOLE_DIR ? resolve(env.ONGGI_CONSOLE_DIR) : null,
    accessLog: z.enum(['on', 'off']).parse(env.ONGGI_ACCESS_LOG ?? 'on') === 'on',
    s3Domain: s3Domain(env.ONGGI_S3_DOMAIN),
    sseCustomerKeysOverHttp: z.enum(['on', 'off']).parse(env.ONGGI_SSE_C_OVER_HTTP ?? 'off') === 'on',
  };
}

function pkcs11(env: NodeJS.ProcessEnv): Pkcs11Config | null {
  const module = env.ONGGI_PKCS11_MODULE?.trim();
  const named = ['ONGGI_PKCS11_TOKEN', 'ONGGI_PKCS11_SLOT', 'ONGGI_PKCS11_PIN', 'ONGGI_PKCS11_PIN_FILE', 'ONGGI_PKCS11_KEY_LABEL'].filter((name) => env[name]);
  if (!module) {
    if (named.length > 0) throw new Error(`${named.join(', ')} set without ONGGI_PKCS11_MODULE (the PKCS#11 module's library)`);
    return null;
  }
  const tokenLabel = env.ONGGI_PKCS11_TOKEN || null;
  const slotText = env.ONGGI_PKCS11_SLOT || null;
  if ((tokenLabel === null) === (slotText === null)) throw new Error('With ONGGI_PKCS11_MODULE, set ONGGI_PKCS11_TOKEN (the token label) or ONGGI_PKCS11_SLOT (the slot ID), one of them');
  if (slotText !== null && !/^\d+$/.test(slotText)) throw new Error(`ONGGI_PKCS11_SLOT must be a slot ID (a whole number), not "${slotText}"`);
  const pinFile = env.ONGGI_PKCS11_PIN_FILE ? resolve(env.ONGGI_PKCS11_PIN_FILE) : null;
  const pin = env.ONGGI_PKCS11_PIN || null;
  if ((pinFile === null) === (pin === null)) throw new Error('With ONGGI_PKCS11_MODULE, set ONGGI_PKCS11_PIN_FILE (a file holding the user PIN) or ONGGI_PKCS11_PIN, one of them');
  return { module, tokenLabel, slot: slotText === null ? null : BigInt(slotText), pinFile, pin, keyLabel: env.ONGGI_PKCS11_KEY_LABEL || 'onggi-master-key' };
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback * 1000;
  const parsed = z.coerce.number().positive().max(86_400).safeParse(text);
  if (!parsed.success) throw new Error(`${name} must be a number of seconds (0 < n <= 86400), not "${text}"`);
  return Math.round(parsed.data * 1000);
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const parsed = z.coerce.number().int().positive().safeParse(text);
  if (!parsed.success) throw new Error(`${name} must be a positive whole number, not "${text}"`);
  return parsed.data;
}

function httpLimits(env: NodeJS.ProcessEnv): HttpLimits {
  const maxConnections = count(env, 'ONGGI_MAX_CONNECTIONS', defaultMaxConnections());
  return {
    headersTimeoutMs: seconds(env, 'ONGGI_HEADERS_TIMEOUT', 20),
    bodyTimeoutMs: seconds(env, 'ONGGI_BODY_TIMEOUT', 60),
    untrustedBodyMs: seconds(env, 'ONGGI_UNAUTHENTICATED_BODY_TIMEOUT', 10),
    minBodyBytesPerSecond: count(env, 'ONGGI_MIN_BODY_RATE', 16 * 1024),
    keepAliveTimeoutMs: seconds(env, 'ONGGI_KEEPALIVE_TIMEOUT', 65),
    maxConnections,
    maxConnectionsPerClient: Math.min(maxConnections, count(env, 'ONGGI_MAX_CONNECTIONS_PER_CLIENT', 256)),
  };
}

/**
 * Half the process's descriptor limit (each connection may also hold a blob or temp file open), less a few
 * for SQLite and the like; at most 4096.
 */
function defaultMaxConnections(): number {
  let limit = 1024;
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line?.[1]) limit = Number(line[1]);
  } catch {
    // Not Linux: assume the common default.
  }
  return Math.max(16, Math.min(4096, Math.floor((limit - 64) / 2)));
}

function trustedProxies(text: string | undefined): string[] {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  try {
    checkAllowList(entries);
  } catch (err) {
    if (isOnggiError(err)) throw new Error(`ONGGI_TRUSTED_PROXIES: ${err.message}`, { cause: err });
    throw err;
  }
  return entries;
}

function s3Domain(text: string | undefined): string | null {
  if (text === undefined || text.trim() === '') return null;
  const domain = text.trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) throw new Error(`ONGGI_S3_DOMAIN must be a DNS name, not "${text}"`);
  return domain;
}

function proxyHeader(text: string | undefined): 'x-forwarded-for' | 'forwarded' {
  const value = (text ?? '').trim().toLowerCase();
  if (value === '' || value === 'x-forwarded-for') return 'x-forwarded-for';
  if (value === 'forwarded') return 'forwarded';
  throw new Error(`ONGGI_TRUSTED_PROXY_HEADER must be x-forwarded-for or forwarded, not "${text ?? ''}"`);
}

function publicHosts(text: string | undefined): string[] {
  const hosts = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const host of hosts) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) throw new Error(`ONGGI_PUBLIC_HOSTS: not a host or host:port: ${host}`);
  }
  return hosts;
}
