/** The store observer feeds the store's retries and group-commit sizes into the process's metrics. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMetrics, storeObserver } from '../../src/http/metrics.ts';

function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

test('storeObserver counts retries and observes group-commit batch sizes', async () => {
  const before = (await renderMetrics()).text;
  assert.equal(sample(before, 'onggi_store_transaction_retries_total'), 0);
  assert.equal(sample(before, 'onggi_store_group_commit_transactions_count'), 0);

  const observer = storeObserver();
  observer.retried?.();
  observer.retried?.();
  observer.groupCommitted?.(3);
  observer.groupCommitted?.(40);

  const { contentType, text } = await renderMetrics();
  assert.match(contentType, /^text\/plain/);
  assert.equal(sample(text, 'onggi_store_transaction_retries_total'), 2);
  assert.equal(sample(text, 'onggi_store_group_commit_transactions_count'), 2);
  assert.equal(sample(text, 'onggi_store_group_commit_transactions_sum'), 43);
  assert.equal(sample(text, 'onggi_store_group_commit_transactions_bucket{le="2"}'), 0);
  assert.equal(sample(text, 'onggi_store_group_commit_transactions_bucket{le="4"}'), 1);
  assert.equal(sample(text, 'onggi_store_group_commit_transactions_bucket{le="64"}'), 2);
});
