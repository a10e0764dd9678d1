/** Process entry: `onggi server` and `onggi admin …`. */
import { Command } from 'commander';
import { registerAdminCommands } from './cli/admin.ts';
import { Refusal } from './lib/refusal.ts';

const program = new Command('onggi').description('Onggi: a KakaoCloud-compatible object storage server');

program
  .command('server', { isDefault: true })
  .description('start the server')
  .option('--listen <host:port>', 'address to listen on (ONGGI_LISTEN, default 127.0.0.1:8080)')
  .option('--data-dir <dir>', 'data directory (ONGGI_DATA_DIR, default ./data)')
  .option('--public-url <url>', 'base URL clients use (ONGGI_PUBLIC_URL, default derived from the listener)')
  .action(async (options: { listen?: string; dataDir?: string; publicUrl?: string }) => {
    // Loaded here, so that admin calls do not load the HTTP stack and the metrics.
    const { runServer } = await import('./server.ts');
    await runServer(options);
  });

registerAdminCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof Refusal)) throw err;
  process.stderr.write(`onggi: ${err.message}\n`);
  process.exit(1);
}
