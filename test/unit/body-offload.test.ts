/** core/body-offload.ts: the worker-thread MD5 agrees with node:crypto, under interleaving and backpressure. */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { after, test } from 'node:test';
import { BodyOffload } from '../../src/core/body-offload.ts';

const offload = new BodyOffload(1024);
after(async () => {
  await offload.close();
});

function chunksOf(data: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = Math.min(data.length - at, randomInt(1, 300_000));
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

async function hashThrough(data: Buffer): Promise<string> {
  const md5 = offload.forBody(data.length);
  for (const chunk of chunksOf(data)) await md5.update(chunk);
  return md5.digest();
}

test('large bodies hash on the worker to the same digest as node:crypto', async () => {
  const data = randomBytes(20 * 1024 * 1024 + 17);
  assert.equal(await hashThrough(data), createHash('md5').update(data).digest('hex'));
});

test('concurrent uploads keep their own state and order', async () => {
  const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(3 * 1024 * 1024 + i * 4099));
  const digests = await Promise.all(bodies.map(hashThrough));
  digests.forEach((digest, i) => assert.equal(digest, createHash('md5').update(bodies[i] ?? Buffer.alloc(0)).digest('hex')));
});

test('an aborted upload leaves the worker usable, and small or unknown lengths hash in line', async () => {
  const aborted = offload.forBody(10 * 1024 * 1024);
  await aborted.update(randomBytes(2 * 1024 * 1024));
  aborted.abort();
  const data = randomBytes(5 * 1024 * 1024);
  assert.equal(await hashThrough(data), createHash('md5').update(data).digest('hex'));
  const small = offload.forBody(10);
  assert.equal(small.update(Buffer.from('0123456789')), undefined);
  assert.equal(await small.digest(), createHash('md5').update('0123456789').digest('hex'));
  assert.equal(await offload.forBody(null).digest(), createHash('md5').digest('hex'));
});

test('with a CRC asked for, the CRC-32 of the same bytes comes with the MD5, on the worker and in line', async () => {
  const { crc32 } = await import('node:zlib');
  for (const data of [randomBytes(6 * 1024 * 1024 + 5), randomBytes(700), Buffer.alloc(0)]) {
    const hashing = offload.forBody(data.length, true);
    for (const chunk of chunksOf(data)) await hashing.update(chunk);
    assert.equal(await hashing.digest(), createHash('md5').update(data).digest('hex'));
    assert.equal(hashing.crc32(), crc32(data), `${data.length} bytes`);
  }
  const without = offload.forBody(6 * 1024 * 1024);
  await without.update(randomBytes(6 * 1024 * 1024));
  await without.digest();
  assert.equal(without.crc32(), undefined);
});
