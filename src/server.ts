/** `onggi server`: open the stores, make sure there is a credential, listen, sweep, shut down cleanly. */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig, type ConfigFlags } from './config.ts';
import { bootstrap, type BootstrapResult } from './core/bootstrap.ts';
import { createHttpServer } from './http/server.ts';
import { lockDataDir } from './lib/data-dir-lock.ts';
import { openCore } from './open-stores.ts';

export async function runServer(flags: ConfigFlags): Promise<void> {
  const config = loadConfig(flags);
  const log = pino({ level: config.logLevel, base: { svc: 'onggi' } }, pino.destination(2));
  const startedAt = Date.now();
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(config.dataDir);
  const core = await openCore(config, (err: unknown) => {
    log.warn({ err }, 'background task failed');
  });
  const root = config.rootAccessKeyId && config.rootSecretAccessKey ? { id: config.rootAccessKeyId, secret: config.rootSecretAccessKey } : null;
  const boot = await bootstrap(core.identity, root);

  const server = createHttpServer({ core, log, publicUrl: config.publicUrl, region: config.region });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listenPort, config.listenHost, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const endpoint = config.publicUrl ?? `http://${host}:${address.port}`;
  printBanner(endpoint, boot);

  core.startJobs(startedAt);

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    core.stopJobs();
    server.close(() => {
      // Access log lines still in memory go to the durable queue first.
      void core.accessLog
        .flush()
        .catch((err: unknown) => {
          log.warn({ err }, 'access log flush failed');
        })
        .then(() => core.store.close())
        .then(unlock)
        .then(() => process.exit(0));
    });
    // Keep-alive connections go as soon as they are idle; in-flight requests get up to 10 s to finish.
    server.closeIdleConnections();
    setInterval(() => {
      server.closeIdleConnections();
    }, 50).unref();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });
}

function printBanner(endpoint: string, boot: BootstrapResult): void {
  const lines = [
    `Onggi listening on ${endpoint}`,
    `  project (Swift account): ${boot.projectId} (${boot.projectName})`,
    `  object API:  ${endpoint}/v1/${boot.projectId}`,
    `  bucket API:  ${endpoint}/v1_ext/bucket`,
    `  IAM:         ${endpoint}/identity/v3/auth/tokens`,
  ];
  if (boot.created) {
    lines.push(
      `  access key ID:     ${boot.created.accessKeyId}`,
      `  secret access key: ${boot.created.secret}   (shown once; keep it)`,
    );
  } else if (boot.accessKeyId) {
    lines.push(`  access key ID:     ${boot.accessKeyId} (secret as configured or shown at first start)`);
  }
  lines.push(
    '  get a token:',
    `    curl -si -X POST ${endpoint}/identity/v3/auth/tokens -H 'Content-Type: application/json' \\`,
    `      -d '{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"<access key ID>","secret":"<secret access key>"}}}}'`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
