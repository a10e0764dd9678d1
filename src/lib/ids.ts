import { randomBytes } from 'node:crypto';

/** A 32-hex id, the shape KakaoCloud uses for projects, users and access keys. */
export function newId(): string {
  return randomBytes(16).toString('hex');
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
