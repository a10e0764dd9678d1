/** `onggi admin …`: projects, users, role assignments and access keys, straight on the data directory. */
import { registerFsck } from './fsck.ts';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { isOnggiError } from '../core/errors.ts';
import type { Core } from '../core/index.ts';
import { AUTH_KEYS_SETTING, KEY_CHECK_SETTING, recordedCheck, recordedModuleMaster, ROTATION_SETTING } from '../core/key-check.ts';
import { rotateMasterKey, type RotationRecord, type RotationReport } from '../core/key-rotation.ts';
import { moduleKeys, openModule } from '../core/module-master.ts';
import { ALL, TABLES } from '../core/model.ts';
import { defaultKeyPath, MasterKeyError, ServerKeys, writeDefaultKey } from '../core/server-keys.ts';
import { currentKeys, openCore, openMetadataStore, sqlitePath } from '../open-stores.ts';
import type { MetadataStore } from '../store/meta/index.ts';

interface AdminOptions {
  dataDir?: string;
  json?: boolean;
}

type Action = (core: Core, print: (rows: unknown) => void) => Promise<void>;

export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('administer projects, users, roles, access keys and S3 key pairs')
    .option('--data-dir <dir>', 'data directory (ONGGI_DATA_DIR, default ./data)')
    .option('--json', 'print JSON');
  const run = (action: Action) => async (): Promise<void> => {
    await runAdmin(admin.opts<AdminOptions>(), action);
  };

  const project = admin.command('project').description('projects (a project is a Swift account)');
  project.command('create <name>').action((name: string) => run(async (core, print) => {
    print(await core.identity.createProject(name));
  })());
  project.command('list').action(run(async (core, print) => {
    print(await core.directory.listProjects());
  }));
  project.command('delete <project>').action((ref: string) => run(async (core, print) => {
    const found = await core.identity.deleteProject(ref);
    print({ deleted: found.id });
  })());

  project
    .command('quota <project> <bytes>')
    .description("the account's quota in bytes (Swift's X-Account-Meta-Quota-Bytes), or none to remove it")
    .action((ref: string, bytes: string) => run(async (core, print) => {
      const found = await core.identity.resolveProject(ref);
      if (bytes !== 'none' && !/^\d+$/.test(bytes)) throw new Error('the quota is a number of bytes, or none');
      const project = await core.accounts.setQuota(found.id, bytes === 'none' ? null : Number(bytes));
      print({ project: project.id, quota_bytes: project.meta['quota-bytes'] ?? null });
    })());

  const user = admin.command('user').description('users');
  user.command('create <name>').action((name: string) => run(async (core, print) => {
    print(await core.identity.createUser(name));
  })());
  user.command('list').action(run(async (core, print) => {
    print(await core.directory.listUsers());
  }));
  user.command('delete <user>').action((ref: string) => run(async (core, print) => {
    const found = await core.identity.deleteUser(ref);
    print({ deleted: found.id });
  })());

  const role = admin.command('role').description('project role assignments: admin, member, reader');
  role.command('assign <project> <user> <role>').action((p: string, u: string, r: string) => run(async (core, print) => {
    await core.identity.assignRole(p, u, r);
    print({ project: p, user: u, role: r });
  })());
  role
    .command('list')
    .option('--project <project>')
    .option('--user <user>')
    .action((options: { project?: string; user?: string }) => run(async (core, print) => {
      print(await core.directory.listRoles(await resolveFilter(core, options)));
    })());
  role.command('remove <project> <user>').action((p: string, u: string) => run(async (core, print) => {
    print({ removed: await core.identity.removeRole(p, u) });
  })());

  const key = admin.command('key').description('IAM access keys (application credentials)');
  key
    .command('create <project> <user>')
    .option('--name <name>', 'key name (used with user id + secret authentication)')
    .option('--expires <iso-date>', 'expiry date')
    .option('--unrestricted', "the key's tokens may create and delete access keys over HTTP (Keystone's unrestricted application credential)")
    .action((p: string, u: string, options: { name?: string; expires?: string; unrestricted?: boolean }) => run(async (core, print) => {
      const expiresAt = options.expires ? Date.parse(options.expires) : null;
      if (Number.isNaN(expiresAt)) throw new Error(`Not a date: ${options.expires ?? ''}`);
      const { key: created, secret } = await core.identity.createAccessKey(p, u, { ...(options.name ? { name: options.name } : {}), expiresAt, unrestricted: options.unrestricted === true });
      print({ id: created.id, name: created.name, projectId: created.projectId, userId: created.userId, secret, note: 'the secret is shown only now' });
    })());
  key
    .command('list')
    .option('--project <project>')
    .option('--user <user>')
    .action((options: { project?: string; user?: string }) => run(async (core, print) => {
      const keys = await core.directory.listAccessKeys(await resolveFilter(core, options));
      print(keys.map((k) => ({ id: k.id, name: k.name, projectId: k.projectId, userId: k.userId, createdAt: k.createdAt, expiresAt: k.expiresAt })));
    })());
  key.command('delete <id>').action((id: string) => run(async (core, print) => {
    await core.identity.deleteAccessKey(id);
    print({ deleted: id });
  })());

  const encryption = admin.command('encryption').description('encryption at rest: migrate blobs to authenticated chunks');
  encryption
    .command('migrate')
    .description('rewrite blobs sealed with AES-256-CTR (before 2026-12-07) into authenticated AES-256-GCM chunks; resumable')
    .action(run(async (core, print) => {
      print(await core.migrateEncryption());
    }));
  encryption
    .command('rotate')
    .description('install a new master key: every data key wrapped again under it (bodies are not rewritten); resumable')
    .option('--new-key-file <path>', 'the new master key: 64 hex characters (openssl rand -hex 32)')
    .option('--to-pkcs11', 'move the master key into the PKCS#11 module that ONGGI_PKCS11_* name (data keys then wrapped by it)')
    .action(async (options: { newKeyFile?: string; toPkcs11?: boolean }) => {
      if (Boolean(options.newKeyFile) === Boolean(options.toPkcs11)) {
        reportFailure(new Error('rotate takes --new-key-file <path> or --to-pkcs11, one of them'));
        return;
      }
      await runRotation(admin.opts<AdminOptions>(), options.newKeyFile ? { keyFile: resolve(options.newKeyFile) } : 'module');
    });
  encryption
    .command('pkcs11-init')
    .description('create the AES key that wraps data keys in the PKCS#11 token that ONGGI_PKCS11_* name, unless it is there')
    .action(async () => {
      await initModuleKey(admin.opts<AdminOptions>());
    });

  const s3Key = admin.command('s3-key').description("S3 key pairs (Keystone's EC2 credentials)");
  s3Key.command('create <project> <user>').action((p: string, u: string) => run(async (core, print) => {
    const { credential, secret } = await core.s3Credentials.create(p, u);
    print({ access: credential.access, secret, projectId: credential.projectId, userId: credential.userId, note: 'the secret is shown only now' });
  })());
  s3Key
    .command('list')
    .option('--project <project>')
    .option('--user <user>')
    .action((options: { project?: string; user?: string }) => run(async (core, print) => {
      print(await core.s3Credentials.list(await resolveFilter(core, options)));
    })());
  s3Key.command('delete <access>').action((access: string) => run(async (core, print) => {
    await core.s3Credentials.delete(access);
    print({ deleted: access });
  })());

  registerFsck(admin, run);
}

/** `--project` and `--user` (names or ids) as the ids a listing filters by; absent ones filter nothing. */
async function resolveFilter(core: Core, options: { project?: string; user?: string }): Promise<{ projectId?: string; userId?: string }> {
  const filter: { projectId?: string; userId?: string } = {};
  if (options.project) filter.projectId = (await core.identity.resolveProject(options.project)).id;
  if (options.user) filter.userId = (await core.identity.resolveUser(options.user)).id;
  return filter;
}

/** The configuration of an existing data directory; null (and an error printed) when there is none. */
function existingConfig(options: AdminOptions): Config | null {
  const config = loadConfig({ dataDir: options.dataDir });
  // A mistyped --data-dir must not quietly become a new, empty store that the running server never sees.
  if (config.metadataUrl === null && !existsSync(sqlitePath(config.dataDir))) {
    process.stderr.write(`error: no Onggi data directory at ${config.dataDir} (start \`onggi server\` there once, or pass --data-dir)\n`);
    process.exitCode = 1;
    return null;
  }
  return config;
}

function printer(options: AdminOptions): (rows: unknown) => void {
  return (rows) => {
    process.stdout.write(options.json ? JSON.stringify(rows, null, 2) + '\n' : formatRows(rows));
  };
}

function reportFailure(err: unknown): void {
  process.stderr.write(`error: ${isOnggiError(err) || err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

async function runAdmin(options: AdminOptions, action: Action): Promise<void> {
  const config = existingConfig(options);
  if (!config) return;
  const core = await openCore(config, () => undefined);
  try {
    await action(core, printer(options));
  } catch (err) {
    reportFailure(err);
  } finally {
    await core.store.close();
  }
}

/** A rotation's new key: a key file, or the PKCS#11 module of the configuration. */
type RotationTarget = { keyFile: string } | 'module';

/**
 * `encryption rotate`: with the servers stopped. Finds how far an earlier run got: the metadata still on the
 * current key (rotate, or finish an interrupted rotation), or already on the new one (only `server.key` left to
 * replace or remove). The key read by ONGGI_MASTER_KEY_FILE or ONGGI_MASTER_KEY, and the PKCS#11 settings, are the
 * operator's to switch afterwards.
 */
async function runRotation(options: AdminOptions, target: RotationTarget): Promise<void> {
  const config = existingConfig(options);
  if (!config) return;
  const print = printer(options);
  const opened: { close(): void }[] = [];
  try {
    const meta = await openMetadataStore(config, undefined);
    let report: RotationReport = { rows: 0, credentials: 0 };
    try {
      const next = await nextKeys(config, meta, target, opened);
      const recorded = (await meta.get(TABLES.settings, ALL, KEY_CHECK_SETTING))?.value.value;
      const underway = await meta.get(TABLES.settings, ALL, ROTATION_SETTING);
      if (underway || recorded !== next.checkValue) {
        const current = await currentKeys(config, meta);
        if ((await recordedCheck(meta, current)) !== current.checkValue) throw new MasterKeyError(`${current.source} is not the master key the metadata was written with: the rotation starts from that key`);
        const auth = await meta.get(TABLES.settings, ALL, AUTH_KEYS_SETTING);
        if (auth) current.adoptAuthKeys(auth.value.value);
        report = await rotateMasterKey(meta, current, next);
      }
    } finally {
      await meta.close();
      for (const module of opened) module.close();
    }
    print({ ...report, key: await switchDefaultKey(config, target) });
  } catch (err) {
    reportFailure(err);
  }
}

/** The key a rotation installs; into the module: the one an interrupted run recorded, or the metadata's own there. */
async function nextKeys(config: Config, meta: MetadataStore, target: RotationTarget, opened: { close(): void }[]): Promise<ServerKeys> {
  if (target !== 'module') return ServerKeys.fromFile(target.keyFile, '--new-key-file');
  if (!config.pkcs11) throw new MasterKeyError('--to-pkcs11 needs the module configured: ONGGI_PKCS11_MODULE, ONGGI_PKCS11_TOKEN, ONGGI_PKCS11_PIN_FILE, ONGGI_PKCS11_KEY_LABEL');
  const module = await openModule(config.pkcs11);
  opened.push(module);
  const underway = await meta.get(TABLES.settings, ALL, ROTATION_SETTING);
  const recorded = underway ? (JSON.parse(underway.value.value) as RotationRecord).moduleMaster : await recordedModuleMaster(meta);
  return recorded ? moduleKeys(module, recorded, config.dataDir) : ServerKeys.inModule(module, null);
}

/**
 * With the default key (no ONGGI_MASTER_KEY_FILE nor ONGGI_MASTER_KEY), `server.key` follows the metadata: it holds
 * the new key, or is removed when the key went into the module (it opens nothing any more). What to do next.
 */
async function switchDefaultKey(config: Config, target: RotationTarget): Promise<string> {
  const defaultKey = !config.masterKeyFile && !config.masterKey;
  const path = defaultKeyPath(config.dataDir);
  if (target === 'module') {
    if (defaultKey) await rm(path, { force: true });
    return `${defaultKey ? `${path} removed; ` : ''}start every node with the PKCS#11 settings (ONGGI_PKCS11_*) and without ONGGI_MASTER_KEY_FILE or ONGGI_MASTER_KEY`;
  }
  const withoutModule = config.pkcs11 ? ': start every node without ONGGI_PKCS11_MODULE' : '';
  if (!defaultKey) return `start every node with the new key (ONGGI_MASTER_KEY_FILE or ONGGI_MASTER_KEY)${withoutModule.replace(':', ',')}`;
  await writeDefaultKey(config.dataDir, await readFile(target.keyFile, 'utf8'));
  return `${path} now holds the new key${withoutModule}`;
}

/** `encryption pkcs11-init`: needs the PKCS#11 settings only, not a data directory. */
async function initModuleKey(options: AdminOptions): Promise<void> {
  try {
    const config = loadConfig({ dataDir: options.dataDir });
    if (!config.pkcs11) throw new Error('pkcs11-init needs the module configured: ONGGI_PKCS11_MODULE, ONGGI_PKCS11_TOKEN or ONGGI_PKCS11_SLOT, ONGGI_PKCS11_PIN_FILE, ONGGI_PKCS11_KEY_LABEL');
    const { initPkcs11Key } = await import('../core/pkcs11-key.ts');
    printer(options)(await initPkcs11Key(config.pkcs11));
  } catch (err) {
    reportFailure(err);
  }
}

function formatRows(rows: unknown): string {
  const list = Array.isArray(rows) ? rows : [rows];
  return list.map((row) => Object.entries(row as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('  ')).join('\n') + '\n';
}
