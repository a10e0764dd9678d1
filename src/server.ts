/** `onggi server`: listen, open the stores, make sure there is a credential, sweep, shut down cleanly. */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config, type ConfigFlags } from './config.ts';
import { bootstrap, bootstrapS3, type BootstrapResult } from './core/bootstrap.ts';
import type { Core } from './core/index.ts';
import { ClientAddresses } from './http/client-address.ts';
import { PublicUrls } from './http/public-url.ts';
import { lazyFrontEnd } from './http/lazy-front-end.ts';
import { createHttpServer } from './http/server.ts';
import { storeObserver, watchAccessLogDrops, watchIntegrity } from './http/metrics.ts';
import { DataDirHealth } from './lib/data-dir-health.ts';
import { lockDataDir } from './lib/data-dir-lock.ts';
import { openCore } from './open-stores.ts';
import { createRouter } from './routes.ts';

/** How long a log line may wait in the buffer at most. */
const LOG_FLUSH_MS = 100;

export async function runServer(flags: ConfigFlags): Promise<void> {
  const config = loadConfig(flags);
  const log = openLog(config.logLevel);
  const startedAt = Date.now();
  // The port first: a busy port must fail before the data directory (and a generated secret) exists.
  // Requests that arrive while the data directory opens wait for it.
  const opening = deferred<Core>();
  // The data directory's health, watched once it is open (until then, requests wait for the start anyway).
  let health: DataDirHealth | null = null;
  const storage = { refusal: (access: 'read' | 'write') => health?.refusal(access) ?? null };
  const server = createHttpServer({
    core: opening.promise,
    log,
    accessLog: config.accessLog,
    publicUrl: config.publicUrl,
    publicUrls: new PublicUrls(config.publicHosts),
    region: config.region,
    limits: config.http,
    clientAddresses: new ClientAddresses(config.trustedProxies, config.trustedProxyHeader),
    route: createRouter({ consoleDir: config.consoleDir, s3Domain: config.s3Domain, s3: lazyFrontEnd(async () => (await import('./frontends/s3/handler.ts')).createS3FrontEnd(config.s3Domain)) }),
    storage,
    sseCustomerKeysOverHttp: config.sseCustomerKeysOverHttp,
  });
  try {
    await listen(server, config.listenHost, config.listenPort);
  } catch (err) {
    process.stderr.write(`${listenFailure(err, config.listenHost, config.listenPort)}\n`);
    process.exitCode = 1;
    return;
  }
  let opened: OpenedDataDir;
  try {
    opened = await openDataDir(config, log);
  } catch (err) {
    opening.reject(err);
    server.close();
    throw err;
  }
  const { core, unlock, boot } = opened;
  watchAccessLogDrops(core.accessLog.dropped);
  watchIntegrity({ reads: core.objects.verifier.stats, scrub: () => core.scrubber?.stats ?? null });
  core.objects.verifier.onFinding((finding) => {
    log.error({ ...finding.subject, reason: finding.reason, detail: finding.detail }, 'stored object failed its integrity check on read: the read was refused or cut off');
  });
  health = await DataDirHealth.watch(config.dataDir, config.metadataUrl ? [] : ['meta.sqlite'], log);
  const watched = health;
  opening.resolve(core);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const listenUrl = `http://${host}:${address.port}`;
  const endpoint = config.publicUrl ?? listenUrl;
  printBanner(endpoint, boot, listenUrl);
  if (config.publicUrl === null) {
    log.warn(
      { listen: listenUrl, publicHosts: config.publicHosts },
      'ONGGI_PUBLIC_URL is not set: token catalogs and links name the address each connection reached (or its Host header, when listed in ONGGI_PUBLIC_HOSTS), never any other Host header; set ONGGI_PUBLIC_URL to the URL clients reach this server at',
    );
  }

  core.startJobs({
    startedAt,
    report: (message, detail) => {
      log.info(detail, message);
    },
    reportDamage: (finding) => {
      log.error(finding, 'scrubber found a damaged object');
    },
    // A data directory gone or read-only pauses the jobs, rather than failing them every round.
    canRun: () => watched.state === 'ok',
  });

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    core.stopJobs();
    watched.stop();
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

/**
 * JSON lines on stderr, written off the event loop in chunks of 4 KiB or more (one write per line would cost a
 * thread-pool round trip per request), and at least every LOG_FLUSH_MS — by the destination's own timer: pino's
 * `flush()` also fsyncs stderr each time (10 fsyncs a second of a log file). Pino flushes what is left at exit.
 */
function openLog(level: string): Logger {
  return pino({ level, base: { svc: 'onggi' } }, pino.destination({ dest: 2, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS }));
}

interface OpenedDataDir {
  core: Core;
  unlock: () => Promise<void>;
  boot: BootstrapResult;
}

/** Creates and locks the data directory, opens the stores, and makes sure there is a credential. */
async function openDataDir(config: Config, log: Logger): Promise<OpenedDataDir> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(config.dataDir);
  const core = await openCore(
    config,
    (err: unknown) => {
      log.warn({ err }, 'background task failed');
    },
    storeObserver(),
  ).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  const root = config.rootAccessKeyId && config.rootSecretAccessKey ? { id: config.rootAccessKeyId, secret: config.rootSecretAccessKey } : null;
  const boot = await bootstrapS3(core.s3Credentials, await bootstrap(core.identity, root));
  return { core, unlock, boot };
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** One line, e.g. `cannot listen on 127.0.0.1:8080: address in use`. */
function listenFailure(err: unknown, host: string, port: number): string {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'address not available' : String(err);
  return `cannot listen on ${address}: ${reason}`;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (reason: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function printBanner(endpoint: string, boot: BootstrapResult, listenUrl: string): void {
  const lines = [
    endpoint === listenUrl ? `Onggi listening on ${endpoint}` : `Onggi listening on ${listenUrl} (public URL ${endpoint})`,
    `  project (Swift account): ${boot.projectId} (${boot.projectName})`,
    `  object API:  ${endpoint}/v1/${boot.projectId}`,
    `  bucket API:  ${endpoint}/v1_ext/bucket`,
    `  IAM:         ${endpoint}/identity/v3/auth/tokens`,
    `  web console: ${endpoint}/console/`,
  ];
  if (boot.created) {
    lines.push(
      `  access key ID:     ${boot.created.accessKeyId}`,
      `  secret access key: ${boot.created.secret}   (shown once; keep it)`,
    );
  } else if (boot.accessKeyId) {
    lines.push(`  access key ID:     ${boot.accessKeyId} (secret as configured or shown at first start)`);
  }
  if (boot.s3Created) {
    lines.push(
      `  S3 endpoint: ${endpoint} (path-style; any region)`,
      `  S3 access key ID:     ${boot.s3Created.access}`,
      `  S3 secret access key: ${boot.s3Created.secret}   (shown once; keep it)`,
    );
  }
  lines.push(
    '  get a token:',
    `    curl -si -X POST ${endpoint}/identity/v3/auth/tokens -H 'Content-Type: application/json' \\`,
    `      -d '{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"<access key ID>","secret":"<secret access key>"}}}}'`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
