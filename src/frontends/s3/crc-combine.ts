/**
 * The CRC of two byte runs one after the other, from their CRCs and the second's length (zlib's crc32_combine,
 * for any reflected CRC whose initial value and final xor are all ones: CRC-32, CRC-32C, CRC-64/NVME). In GF(2)
 * polynomials: crc(AB) = crc(A)·x^(8·len(B)) mod P xor crc(B). The powers x^(2^k) are tabulated once per
 * polynomial and x^(8·len) cached per length, so combining the parts of an upload (mostly of one size) costs one
 * multiplication each.
 */

export interface CrcCombiner {
  /** `first` followed by `second` (of `secondLength` bytes); values as unsigned integers. */
  combine(first: bigint, second: bigint, secondLength: number): bigint;
}

/** Reflected polynomials, the bit order these CRCs compute in. */
const REFLECTED_POLYNOMIALS = {
  crc32: { width: 32, poly: 0xedb88320n },
  crc32c: { width: 32, poly: 0x82f63b78n },
  crc64nvme: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
} as const;

export type CombinableCrc = keyof typeof REFLECTED_POLYNOMIALS;

const combiners = new Map<CombinableCrc, CrcCombiner>();

export function crcCombiner(algorithm: CombinableCrc): CrcCombiner {
  let combiner = combiners.get(algorithm);
  if (!combiner) {
    const { width, poly } = REFLECTED_POLYNOMIALS[algorithm];
    combiner = makeCombiner(width, poly);
    combiners.set(algorithm, combiner);
  }
  return combiner;
}

function makeCombiner(width: number, poly: bigint): CrcCombiner {
  const top = 1n << BigInt(width - 1);
  /** a·b mod P, in the reflected representation (x^0 is the top bit). */
  const multiply = (a: bigint, b: bigint): bigint => {
    let product = 0n;
    let m = top;
    let factor = b;
    while (m !== 0n) {
      if ((a & m) !== 0n) product ^= factor;
      m >>= 1n;
      factor = (factor & 1n) !== 0n ? (factor >> 1n) ^ poly : factor >> 1n;
    }
    return product;
  };
  // x^(2^k) mod P for k = 0…63: x^1 is the bit after the top one.
  const powers: bigint[] = [top >> 1n];
  for (let k = 1; k < 64; k++) {
    const last = powers[k - 1] ?? 0n;
    powers.push(multiply(last, last));
  }
  const shiftByLength = new Map<number, bigint>();
  /** x^(8·length) mod P. */
  const shiftOf = (length: number): bigint => {
    let shift = shiftByLength.get(length);
    if (shift === undefined) {
      shift = top; // x^0
      let n = BigInt(length) * 8n;
      for (let k = 0; n !== 0n; k++, n >>= 1n) if ((n & 1n) !== 0n) shift = multiply(powers[k] ?? 0n, shift);
      if (shiftByLength.size > 64) shiftByLength.clear();
      shiftByLength.set(length, shift);
    }
    return shift;
  };
  return {
    combine: (first, second, secondLength) => (secondLength === 0 ? first : multiply(shiftOf(secondLength), first) ^ second),
  };
}

/** A CRC's base64 (big-endian bytes, as S3 shows it) as an integer, and back. */
export function crcFromBase64(text: string, width: 32 | 64): bigint | null {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== width / 8) return null;
  return width === 32 ? BigInt(bytes.readUInt32BE()) : bytes.readBigUInt64BE();
}

export function crcToBase64(value: bigint, width: 32 | 64): string {
  const bytes = Buffer.alloc(width / 8);
  if (width === 32) bytes.writeUInt32BE(Number(value));
  else bytes.writeBigUInt64BE(value);
  return bytes.toString('base64');
}

export function crcWidth(algorithm: CombinableCrc): 32 | 64 {
  return REFLECTED_POLYNOMIALS[algorithm].width;
}
