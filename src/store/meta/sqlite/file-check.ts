/**
 * Damage to the SQLite files, found before the store opens them for writing, so that Onggi refuses to start
 * rather than serve a store that silently lost writes. SQLite itself would start on both faults checked here:
 *
 * - A WAL that lost frames the last run committed (cut short, emptied, damaged): SQLite stops reading a WAL at
 *   its first incomplete or damaged frame and drops the rest without a word (everything since the last
 *   checkpoint, when the header is gone: a store that looks new). The WAL index (`-shm`) that the last run left
 *   says how many frames it committed; the WAL's own checksums say how many are there.
 * - Pages of the database that do not hold together: `PRAGMA quick_check`.
 *
 * Nothing here writes to the files. Damage inside a row's bytes that leaves the page structure intact cannot be
 * seen: SQLite keeps no checksums of pages.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness, freemem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Refusal } from '../../../lib/refusal.ts';
import { openDatabase, sqliteAddon } from './open-database.ts';

/** The metadata files are damaged; the message names the file and what to do. */
export class DamagedStore extends Refusal {}

const RESTORE = 'Restore the data directory from a backup';

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
/** The WAL header's magic number; its lowest bit set means big-endian checksums. */
const WAL_MAGIC = 0x377f0682;
/** The WAL index (`-shm`) starts with two copies of a 48-byte header, then the checkpoint's progress. */
const INDEX_HEADER_BYTES = 48;
const INDEX_READ_BYTES = 2 * INDEX_HEADER_BYTES + 4;
const INDEX_VERSION = 3007000;

type Checksum = [number, number];

/** What the last run's WAL index says: frames committed, and how many of them were copied into the database. */
interface WalIndex {
  committed: number;
  backfilled: number;
  salts: Checksum;
  pageSize: number;
}

/** What the WAL holds: its frames up to the last commit whose frames are all whole and intact. */
interface WalContent {
  bytes: number;
  pageSize: number;
  salts: Checksum;
  committed: number;
}

/** Throws DamagedStore when the WAL lacks frames the last run committed, or was visibly cut short. */
export function checkWal(dbPath: string): void {
  const walPath = `${dbPath}-wal`;
  const shmPath = `${dbPath}-shm`;
  const bytes = sizeOf(walPath);
  if (bytes === null) return;
  const claimed = readWalIndex(shmPath);
  const wal = readWal(walPath);
  if (claimed) {
    if (claimed.committed <= claimed.backfilled) return;
    const readable = wal && wal.salts[0] === claimed.salts[0] && wal.salts[1] === claimed.salts[1] ? wal.committed : 0;
    // An index that moved on while the WAL was read belongs to a live process (onggi admin beside the server):
    // its files are in use, not the remains of a run that ended.
    if (readable >= claimed.committed || !sameIndex(claimed, readWalIndex(shmPath))) return;
    const keep = readable === 0 ? 0 : WAL_HEADER_BYTES + readable * frameBytes(wal?.pageSize ?? claimed.pageSize);
    throw new DamagedStore(
      `${walPath} lacks writes the last run committed: its index ${shmPath} counts ${claimed.committed} frames ` +
        `(${claimed.backfilled} of them copied into ${dbPath}), but only ${readable} can be read, so the file was cut short ` +
        `or damaged and starting would silently lose the rest. ${RESTORE}; or, to start with what remains and lose ` +
        `those writes for good: truncate -s ${keep} ${quote(walPath)} && rm ${quote(shmPath)}`,
    );
  }
  // No index of the last run (copied without it, or lost with the power): only the WAL's own shape can tell.
  if (!wal) {
    if (bytes <= WAL_HEADER_BYTES) return;
    throw new DamagedStore(`${walPath} holds ${bytes} bytes but no valid header, so none of its writes can be read. ${RESTORE}; or, to start without them: rm ${quote(walPath)}`);
  }
  const frame = frameBytes(wal.pageSize);
  const whole = Math.floor((bytes - WAL_HEADER_BYTES) / frame);
  if (WAL_HEADER_BYTES + whole * frame === bytes) return;
  throw new DamagedStore(
    `${walPath} ends inside a frame (${bytes} bytes: a ${WAL_HEADER_BYTES}-byte header, then frames of ${frame}), so it was ` +
      `cut short and the writes in the lost part cannot be read. ${RESTORE}; or, to start with the whole frames ` +
      `and lose the rest for good: truncate -s ${WAL_HEADER_BYTES + whole * frame} ${quote(walPath)}`,
  );
}

/** Databases up to this size are checked on the event loop (milliseconds); larger ones on a worker thread. */
const IN_LINE_CHECK_BYTES = 16 * 1024 * 1024;
/** Problems reported at most. */
const QUICK_CHECK = 'PRAGMA quick_check(3)';

/**
 * Throws DamagedStore when the database's pages do not hold together. Reads every page: about 0.6 s per million
 * objects when the file is in the page cache; see the worker for a cold one.
 */
export async function checkPages(dbPath: string): Promise<void> {
  const bytes = (sizeOf(dbPath) ?? 0) + (sizeOf(`${dbPath}-wal`) ?? 0);
  const problems = bytes <= IN_LINE_CHECK_BYTES ? quickCheck(dbPath) : await quickCheckOnWorker(dbPath);
  if (problems.length > 0) {
    throw new DamagedStore(
      `${dbPath} is damaged (PRAGMA quick_check: ${problems.join('; ')}). ${RESTORE}: Onggi does not start on it, since ` +
        'what the damaged pages hold would be missing or wrong.',
    );
  }
}

/** SQLite's refusal of a damaged file, as DamagedStore naming it; any other error as it is. */
export function asDamaged(dbPath: string, err: unknown): unknown {
  if (!isCorruption(err)) return err;
  return new DamagedStore(`${dbPath} is damaged (${(err as Error).message}). ${RESTORE}.`);
}

function quickCheck(dbPath: string): string[] {
  try {
    const db = openDatabase(dbPath, { readonly: true, fileMustExist: true });
    try {
      return problemsIn(db.prepare(QUICK_CHECK).pluck().all() as string[]);
    } finally {
      db.close();
    }
  } catch (err) {
    if (isCorruption(err)) return [(err as Error).message];
    throw err;
  }
}

/**
 * On a cold page cache, quick_check reads pages in tree order, one at a time: 9 s for a 470 MiB file here, which
 * reads in order in 0.7 s. So the worker reads the file in order first, when it fits in free memory twice over.
 */
const CHECK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, openSync, readSync } = require('node:fs');
const Database = require(workerData.sqliteModule);
if (workerData.readFirst) {
  const fd = openSync(workerData.path, 'r');
  const chunk = Buffer.allocUnsafe(4 << 20);
  for (let at = 0, n; (n = readSync(fd, chunk, 0, chunk.length, at)) > 0; at += n);
  closeSync(fd);
}
try {
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true, nativeBinding: workerData.addon });
  try {
    parentPort.postMessage({ rows: db.prepare(workerData.sql).pluck().all() });
  } finally {
    db.close();
  }
} catch (err) {
  parentPort.postMessage({ error: { message: err.message, code: err.code } });
}
`;

interface WorkerReply {
  rows?: string[];
  error?: { message: string; code: string };
}

async function quickCheckOnWorker(dbPath: string): Promise<string[]> {
  const readFirst = (sizeOf(dbPath) ?? 0) * 2 < freemem();
  const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECK_WORKER, { eval: true, workerData: { path: dbPath, sql: QUICK_CHECK, sqliteModule, addon: sqliteAddon(), readFirst } });
  try {
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (reply.error) {
      const error = Object.assign(new Error(reply.error.message), { code: reply.error.code });
      if (isCorruption(error)) return [error.message];
      throw error;
    }
    return problemsIn(reply.rows ?? []);
  } finally {
    await worker.terminate();
  }
}

/** quick_check's rows, without its "ok" and its "*** in database main ***" heading. */
function problemsIn(rows: string[]): string[] {
  return rows.filter((row) => row !== 'ok' && !row.startsWith('***')).map((row) => row.replace(/\s+/g, ' ').trim());
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function readWalIndex(shmPath: string): WalIndex | null {
  const bytes = readStart(shmPath, INDEX_READ_BYTES);
  if (bytes === null || bytes.length < INDEX_READ_BYTES) return null;
  if (!bytes.subarray(0, INDEX_HEADER_BYTES).equals(bytes.subarray(INDEX_HEADER_BYTES, 2 * INDEX_HEADER_BYTES))) return null;
  // Written in the machine's byte order, its checksum too.
  const native = endianness() === 'BE';
  const word = (at: number): number => (native ? bytes.readUInt32BE(at) : bytes.readUInt32LE(at));
  const isInit = bytes[12] === 1;
  const [sum1, sum2] = checksum(bytes.subarray(0, 40), native, [0, 0]);
  if (word(0) !== INDEX_VERSION || !isInit || sum1 !== word(40) || sum2 !== word(44)) return null;
  const pageSize = native ? bytes.readUInt16BE(14) : bytes.readUInt16LE(14);
  // The salts are the WAL header's bytes, copied as they are.
  const salts: Checksum = [bytes.readUInt32BE(32), bytes.readUInt32BE(36)];
  return { committed: word(16), backfilled: word(2 * INDEX_HEADER_BYTES), salts, pageSize: pageSize === 1 ? 65536 : pageSize };
}

function sameIndex(a: WalIndex, b: WalIndex | null): boolean {
  return b !== null && a.committed === b.committed && a.backfilled === b.backfilled && a.salts[0] === b.salts[0] && a.salts[1] === b.salts[1];
}

/** The WAL's valid frames, as SQLite's recovery counts them (salts and running checksums); null without a valid header. */
function readWal(walPath: string): WalContent | null {
  const fd = openSync(walPath, 'r');
  try {
    const header = Buffer.alloc(WAL_HEADER_BYTES);
    if (readSync(fd, header, 0, WAL_HEADER_BYTES, 0) < WAL_HEADER_BYTES) return null;
    const magic = header.readUInt32BE(0);
    const bigEndian = (magic & 1) === 1;
    const pageSize = header.readUInt32BE(8);
    let sum = checksum(header.subarray(0, 24), bigEndian, [0, 0]);
    if (magic - (magic & 1) !== WAL_MAGIC || !validPageSize(pageSize) || sum[0] !== header.readUInt32BE(24) || sum[1] !== header.readUInt32BE(28)) return null;
    const salts: Checksum = [header.readUInt32BE(16), header.readUInt32BE(20)];
    const frame = Buffer.alloc(frameBytes(pageSize));
    let committed = 0;
    for (let n = 1; readSync(fd, frame, 0, frame.length, WAL_HEADER_BYTES + (n - 1) * frame.length) === frame.length; n++) {
      if (frame.readUInt32BE(0) === 0 || frame.readUInt32BE(8) !== salts[0] || frame.readUInt32BE(12) !== salts[1]) break;
      sum = checksum(frame.subarray(0, 8), bigEndian, sum);
      sum = checksum(frame.subarray(FRAME_HEADER_BYTES), bigEndian, sum);
      if (sum[0] !== frame.readUInt32BE(16) || sum[1] !== frame.readUInt32BE(20)) break;
      // A commit frame carries the database's size after the commit.
      if (frame.readUInt32BE(4) !== 0) committed = n;
    }
    return { bytes: fstatSync(fd).size, pageSize, salts, committed };
  } finally {
    closeSync(fd);
  }
}

/** SQLite's WAL checksum: two running 32-bit sums over pairs of words. */
function checksum(bytes: Buffer, bigEndian: boolean, [s1, s2]: Checksum): Checksum {
  for (let at = 0; at + 8 <= bytes.length; at += 8) {
    s1 = (s1 + (bigEndian ? bytes.readUInt32BE(at) : bytes.readUInt32LE(at)) + s2) >>> 0;
    s2 = (s2 + (bigEndian ? bytes.readUInt32BE(at + 4) : bytes.readUInt32LE(at + 4)) + s1) >>> 0;
  }
  return [s1, s2];
}

function frameBytes(pageSize: number): number {
  return FRAME_HEADER_BYTES + pageSize;
}

function validPageSize(size: number): boolean {
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0;
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function readStart(path: string, length: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const bytes = Buffer.alloc(length);
    return bytes.subarray(0, readSync(fd, bytes, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** A path as one shell word. */
function quote(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}
