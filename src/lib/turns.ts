/** Long work on the event loop, cut into turns so that other requests are served in between. */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long one piece of work may hold the event loop before it lets others run. */
export const TURN_MS = 8;

/** One piece of work's time on the event loop: `take` lets others run once its turn is used up. */
export class Turns {
  private startedAt = performance.now();

  async take(): Promise<void> {
    if (performance.now() - this.startedAt < TURN_MS) return;
    await nextTurn();
    this.startedAt = performance.now();
  }
}

/** The pieces (made lazily, e.g. by a generator) as one UTF-8 Buffer, in turns. */
export async function encodeInTurns(pieces: Iterable<string>): Promise<Buffer> {
  const turns = new Turns();
  const encoded: Buffer[] = [];
  for (const piece of pieces) {
    encoded.push(Buffer.from(piece, 'utf8'));
    await turns.take();
  }
  return Buffer.concat(encoded);
}
