/**
 * Child process of sqlite-kv-store.test.ts: commits rows through SqliteKvStore, `concurrency` transactions at a
 * time, and prints `acked <sk>` as soon as each commit resolves, until it is killed.
 * Usage: node --import tsx sqlite-kv-writer.ts <file> <concurrency> <first row number>
 */
import { SqliteKvStore } from '../../src/store/meta/sqlite/sqlite-kv-store.ts';
import { blobs, CONTRACT_TABLES, counters, docs } from './kv-store.contract.ts';

const [file = '', concurrencyText = '1', firstText = '0'] = process.argv.slice(2);
const store = SqliteKvStore.open(file, { tables: CONTRACT_TABLES });
let next = Number(firstText);

async function writer(): Promise<never> {
  for (;;) {
    const n = next++;
    const sk = `k${String(n).padStart(8, '0')}`;
    await store.transact(async (tx) => {
      const count = (await tx.get(counters, 'acked', sk))?.value ?? 0;
      tx.put(docs, 'p', sk, { name: sk, n });
      tx.put(blobs, 'p', sk, Buffer.alloc(4096, n % 256));
      tx.put(counters, 'acked', sk, count + 1);
    });
    process.stdout.write(`acked ${sk}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: Number(concurrencyText) }, () => writer()));
