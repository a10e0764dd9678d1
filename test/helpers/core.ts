/**
 * The core service layer on real stores, without HTTP: for the protocol-free suites of test/core, which run
 * every rule against both metadata stores (SQLite in a temp data directory, and a fresh database of the run's
 * private PostgreSQL).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KAKAOCLOUD_NAMES } from '../../src/core/constraints.ts';
import { bootstrap } from '../../src/core/bootstrap.ts';
import type { Core } from '../../src/core/index.ts';
import type { Caller } from '../../src/core/types.ts';
import { openCore } from '../../src/open-stores.ts';
import { createDatabase } from './postgres.ts';
import { makeTempDir, removeDir } from './server.ts';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface TestCore {
  core: Core;
  /** The first start's admin, in the default project. */
  admin: Extract<Caller, { kind: 'user' }>;
  account: string;
  /** Moves the core's clock (lifecycle, expiry) forward by `ms` from the real time. */
  advanceClock(ms: number): Promise<void>;
  /** Closes the core and opens a new one on the same stores (a restart): `core` is the new one afterwards. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export interface TestCoreOptions {
  /** The multipart minimum part size (ONGGI_TEST_MIN_PART_SIZE); S3's 5 MiB when absent. */
  minPartSize?: number;
}

export async function openTestCore(kind: StoreKind, options: TestCoreOptions = {}): Promise<TestCore> {
  const dataDir = await makeTempDir('onggi-core-');
  const clockFile = join(dataDir, 'clock-offset');
  await writeFile(clockFile, '0');
  // The core reads these settings when it is made.
  const settings: Record<string, string> = { ONGGI_TEST_CLOCK_FILE: clockFile };
  if (options.minPartSize !== undefined) settings.ONGGI_TEST_MIN_PART_SIZE = String(options.minPartSize);
  const metadataUrl = kind === 'postgres' ? await createDatabase() : null;
  const open = async (): Promise<Core> => {
    const previous = Object.fromEntries(Object.keys(settings).map((name) => [name, process.env[name]]));
    Object.assign(process.env, settings);
    return openCore({ dataDir, metadataUrl, blobDir: join(dataDir, 'blobs'), bucketNames: KAKAOCLOUD_NAMES, masterKeyFile: null }, (err) => {
      throw err;
    }).finally(() => {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    });
  };
  const core = await open();
  const boot = await bootstrap(core.identity, { id: 'core-test-key', secret: 'core-test-secret-not-real' });
  const admin: Extract<Caller, { kind: 'user' }> = {
    kind: 'user',
    userId: boot.userId,
    userName: 'admin',
    projectId: boot.projectId,
    role: 'admin',
    accessKeyId: 'core-test-key',
    unrestrictedKey: true,
  };
  const t: TestCore = {
    core,
    admin,
    account: boot.projectId,
    advanceClock: (ms) => writeFile(clockFile, String(ms)),
    reopen: async () => {
      await t.core.store.close();
      t.core = await open();
    },
    close: async () => {
      await t.core.store.close();
      await removeDir(dataDir);
    },
  };
  return t;
}
