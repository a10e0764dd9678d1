/**
 * Bodies stream through the server as fresh off-heap buffers, one per socket read (Node's HTTP parser copies each
 * body chunk into a new ~64 KiB malloc'd buffer) and one per cipher update; each is dead once written. V8 frees
 * them only at its next collection, and under a large upload that comes from external-memory pressure (a full
 * mark-compact every ~20 MiB here): meanwhile glibc's heap grows to hold the dead buffers, and it keeps those
 * pages resident after they are freed (its main heap shrinks only from the top). A young-generation collection
 * after every few MiB of such bytes frees them while they are young: a lower peak, far less left resident after,
 * and scavenges of a few live objects instead of mark-compacts of the whole heap.
 *
 * It needs `gc`, which `--expose-gc` (the start script's) provides; without it this does nothing.
 */

/** A scavenge per this many bytes of dead-soon buffers: glibc's heap then holds at most a few MiB of them. */
export const SCAVENGE_EVERY_BYTES = 4 * 1024 * 1024;

const collect = globalThis.gc;
let sinceScavenge = 0;

/** Counts `bytes` of buffers that die once written; runs a scavenge when enough of them have passed. */
export function passedThrough(bytes: number): void {
  if (collect === undefined) return;
  sinceScavenge += bytes;
  if (sinceScavenge < SCAVENGE_EVERY_BYTES) return;
  sinceScavenge = 0;
  collect({ type: 'minor' });
}
