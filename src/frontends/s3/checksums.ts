/**
 * S3's flexible checksums: CRC32 (zlib's), CRC32C and CRC64/NVME (AWS's own JS libraries), SHA-1 and SHA-256,
 * each computed as the bytes stream and compared, base64, with what the client sent.
 */
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksummer {
  update(chunk: Uint8Array): void;
  /** The checksum, base64, as S3 shows it. */
  digest(): Promise<string>;
}

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/** `x-amz-checksum-<algorithm>`: the header (or trailer) carrying a checksum. */
export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm}`;
}

/** The name AWS gives the algorithm in bodies and headers (`CRC64NVME`, `SHA256`, …). */
export function checksumName(algorithm: ChecksumAlgorithm): string {
  return algorithm.toUpperCase();
}

export function checksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'crc32': {
      let value = 0;
      return {
        update: (chunk) => {
          value = crc32(chunk, value);
        },
        digest: () => Promise.resolve(uint32Base64(value)),
      };
    }
    case 'crc32c': {
      const crc = new Crc32c();
      return {
        update: (chunk) => {
          crc.update(chunk);
        },
        digest: () => Promise.resolve(uint32Base64(crc.digest())),
      };
    }
    case 'crc64nvme': {
      const crc = new Crc64Nvme();
      return {
        update: (chunk) => {
          crc.update(chunk);
        },
        digest: async () => Buffer.from(await crc.digest()).toString('base64'),
      };
    }
    case 'sha1':
    case 'sha256': {
      const hash = createHash(algorithm);
      return {
        update: (chunk) => {
          hash.update(chunk);
        },
        digest: () => Promise.resolve(hash.digest('base64')),
      };
    }
  }
}

function uint32Base64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
}
