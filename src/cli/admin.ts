/** `onggi admin …`: projects, users, role assignments and access keys, straight on the data directory. */
import { registerFsck } from './fsck.ts';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { isOnggiError } from '../core/errors.ts';
import type { Core } from '../core/index.ts';
import { openCore, sqlitePath } from '../open-stores.ts';

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

async function runAdmin(options: AdminOptions, action: Action): Promise<void> {
  const config = loadConfig({ dataDir: options.dataDir });
  // A mistyped --data-dir must not quietly become a new, empty store that the running server never sees.
  if (config.metadataUrl === null && !existsSync(sqlitePath(config.dataDir))) {
    process.stderr.write(`error: no Onggi data directory at ${config.dataDir} (start \`onggi server\` there once, or pass --data-dir)\n`);
    process.exitCode = 1;
    return;
  }
  const core = await openCore(config, () => undefined);
  const print = (rows: unknown): void => {
    process.stdout.write(options.json ? JSON.stringify(rows, null, 2) + '\n' : formatRows(rows));
  };
  try {
    await action(core, print);
  } catch (err) {
    process.stderr.write(`error: ${isOnggiError(err) || err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await core.store.close();
  }
}

function formatRows(rows: unknown): string {
  const list = Array.isArray(rows) ? rows : [rows];
  return list.map((row) => Object.entries(row as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('  ')).join('\n') + '\n';
}
