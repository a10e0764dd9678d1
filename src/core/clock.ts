/** The time background rules (lifecycle) are judged by; tests can move it forward without waiting. */
import { readFileSync } from 'node:fs';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * `ONGGI_TEST_CLOCK_FILE` names a file holding an offset in milliseconds that is added to the real time, read
 * afresh each time (a test writes it to advance the clock of a running server). Unset: the real time.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const file = env.ONGGI_TEST_CLOCK_FILE;
  if (!file) return systemClock;
  return {
    now: () => Date.now() + readOffset(file),
  };
}

function readOffset(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}
