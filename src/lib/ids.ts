import { randomBytes } from 'node:crypto';

/** Random bytes drawn in blocks: ids are made on every write, and one getrandom call can serve 256 of them. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let drawn = POOL_BYTES;

function randomHex(bytes: number): string {
  if (drawn + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    drawn = 0;
  }
  const hex = pool.toString('hex', drawn, drawn + bytes);
  drawn += bytes;
  return hex;
}

/** A 32-hex id, the shape KakaoCloud uses for projects, users and access keys. */
export function newId(): string {
  return randomHex(16);
}

let lastTimeOrdered = '';

/**
 * A 32-hex id that sorts by creation time (milliseconds, then 80 random bits): rows keyed by such ids are added
 * at the end of their index instead of on a random page of it. Within this process each is larger than the one
 * before, also in the same millisecond (uploads of one key list in the order they began).
 */
export function newTimeOrderedId(): string {
  const id = Date.now().toString(16).padStart(12, '0') + randomHex(10);
  lastTimeOrdered = id > lastTimeOrdered ? id : successor(lastTimeOrdered);
  return lastTimeOrdered;
}

/** The next 32-hex id: its last 12 digits (48 bits, exact in a double) plus one, carrying into the rest only on overflow. */
function successor(id: string): string {
  const tail = Number.parseInt(id.slice(20), 16) + 1;
  if (tail < 2 ** 48) return id.slice(0, 20) + tail.toString(16).padStart(12, '0');
  return (BigInt(`0x${id}`) + 1n).toString(16).padStart(32, '0');
}

export function newSecret(): string {
  return randomBytes(30).toString('base64url');
}

const processTag = randomBytes(7).toString('hex').slice(0, 13);
let transactions = 0;

/** Swift's transaction id, `tx` + 21 hex + `-` + the hex Unix time: a random per-process tag and a counter. */
export function newTransactionId(): string {
  transactions = (transactions + 1) % 0x100000000;
  const time = Math.floor(Date.now() / 1000).toString(16).padStart(10, '0');
  return `tx${processTag}${transactions.toString(16).padStart(8, '0')}-${time}`;
}
