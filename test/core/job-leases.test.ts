/** Background jobs run on one node at a time: leases in a real PostgreSQL shared by several nodes' stores. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JobRunner } from '../../src/core/jobs.ts';
import { ALL_TABLES } from '../../src/core/model.ts';
import type { MetadataStore } from '../../src/store/meta/index.ts';
import { PostgresKvStore } from '../../src/store/meta/postgres/postgres-kv-store.ts';
import { createDatabase } from '../helpers/postgres.ts';

const NODES = 4;
let stores: MetadataStore[] = [];

before(async () => {
  const url = await createDatabase();
  stores = await Promise.all(Array.from({ length: NODES }, () => PostgresKvStore.open(url, { tables: ALL_TABLES })));
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

function runners(): JobRunner[] {
  return stores.map((store, i) => new JobRunner(store, `node-${i}`, () => undefined));
}

test('of several nodes asking at once, exactly one gets a job; it keeps it while it renews', async () => {
  const nodes = runners();
  const now = Date.now();
  const won = await Promise.all(nodes.map((node) => node.acquire('expiry', now)));
  assert.equal(won.filter(Boolean).length, 1, `winners: ${JSON.stringify(won)}`);
  const owner = won.indexOf(true);
  const again = await Promise.all(nodes.map((node) => node.acquire('expiry', now + 5_000)));
  assert.deepEqual(again.map((mine, i) => mine === (i === owner)), nodes.map(() => true), 'only the owner renews');
  // Another job is leased on its own.
  const other = await Promise.all(nodes.map((node) => node.acquire('blob-collector', now)));
  assert.equal(other.filter(Boolean).length, 1);
});

test('a node that stops renewing hands its job over once the lease runs out', async () => {
  const nodes = runners();
  const now = Date.now();
  const [first, ...rest] = nodes;
  assert.ok(first && (await first.acquire('orphan-sweep', now)));
  for (const node of rest) assert.equal(await node.acquire('orphan-sweep', now + 1_000), false);
  const later = now + 60_000;
  const takeover = await Promise.all(rest.map((node) => node.acquire('orphan-sweep', later)));
  assert.equal(takeover.filter(Boolean).length, 1);
  assert.equal(await first.acquire('orphan-sweep', later + 1_000), false, 'the old owner does not take it back while the new one holds it');
});
