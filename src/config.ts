/** One typed configuration: flags > environment > defaults. */
import { resolve } from 'node:path';
import { z } from 'zod';

export interface Config {
  listenHost: string;
  listenPort: number;
  dataDir: string;
  /** Base URL put into token catalogs and object URLs; derived from the listener when unset. */
  publicUrl: string | null;
  region: string;
  rootAccessKeyId: string | null;
  rootSecretAccessKey: string | null;
  logLevel: string;
  /** One line per request at level info (ONGGI_ACCESS_LOG=off turns it off). */
  accessLog: boolean;
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
  return {
    listenHost: host,
    listenPort: port,
    dataDir: resolve(flags.dataDir ?? env.ONGGI_DATA_DIR ?? './data'),
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    region: env.ONGGI_REGION ?? 'kr-central-2',
    rootAccessKeyId: rootId,
    rootSecretAccessKey: rootSecret,
    logLevel: env.ONGGI_LOG_LEVEL ?? 'info',
    accessLog: z.enum(['on', 'off']).parse(env.ONGGI_ACCESS_LOG ?? 'on') === 'on',
  };
}
