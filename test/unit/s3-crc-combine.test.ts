/** CRC combination (S3's full-object checksums of multipart uploads) against CRCs of the whole bytes. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { checksummer } from '../../src/frontends/s3/checksums.ts';
import { crcCombiner, crcFromBase64, crcToBase64, crcWidth, type CombinableCrc } from '../../src/frontends/s3/crc-combine.ts';

async function crcOf(algorithm: CombinableCrc, bytes: Buffer): Promise<string> {
  const summer = checksummer(algorithm);
  summer.update(bytes);
  return summer.digest();
}

describe('CRC combination', () => {
  for (const algorithm of ['crc32', 'crc32c', 'crc64nvme'] as const) {
    test(`${algorithm}: the combined CRC of parts is the CRC of the whole, for many part sizes`, async () => {
      const width = crcWidth(algorithm);
      const combiner = crcCombiner(algorithm);
      for (const sizes of [[1, 1], [0, 5], [5, 0], [7, 13, 1024], [65536, 65536, 3], [1000003, 17], [4096, 4096, 4096, 4096, 1]]) {
        const parts = sizes.map((size) => randomBytes(size));
        let combined: bigint | null = null;
        for (const part of parts) {
          const crc = crcFromBase64(await crcOf(algorithm, part), width);
          assert.ok(crc !== null);
          combined = combined === null ? crc : combiner.combine(combined, crc, part.length);
        }
        assert.equal(crcToBase64(combined ?? 0n, width), await crcOf(algorithm, Buffer.concat(parts)), `sizes ${sizes.join(',')}`);
      }
    });
  }

  test('a CRC of the wrong width is not read as one', () => {
    assert.equal(crcFromBase64(Buffer.alloc(8).toString('base64'), 32), null);
    assert.equal(crcFromBase64('AAAAAA==', 32), 0n);
  });
});
