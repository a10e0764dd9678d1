import { randomBytes } from 'node:crypto';

/** A 32-hex id, the shape KakaoCloud uses for projects, users and access keys. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function newSecret(): string {
  return randomBytes(30).toString('base64url');
}

/** Swift's transaction id: `tx` + 21 hex + `-` + the hex Unix time. */
export function newTransactionId(): string {
  const time = Math.floor(Date.now() / 1000).toString(16).padStart(10, '0');
  return `tx${randomBytes(11).toString('hex').slice(0, 21)}-${time}`;
}
