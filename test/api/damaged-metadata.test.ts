/**
 * Issue 9, faults to survive: a damaged meta.sqlite or a meta.sqlite-wal cut short is found at start. The server
 * exits 1 with one line that names the file and says what to do, and leaves the files as they were; it never
 * starts on a store that silently lost writes (or all of them, and bootstraps an empty one).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, open, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../../src/store/meta/sqlite/open-database.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { admin, login, makeTempDir, removeDir, sqliteOnly, startServer, type Session } from '../helpers/server.ts';

const CONTAINER = 'damage-test';
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await removeDir(dir);
});

async function newDir(): Promise<string> {
  const dir = await makeTempDir();
  dirs.push(dir);
  return dir;
}

function bodyOf(key: string): string {
  return `the bytes of ${key}`;
}

/** A data directory with `count` small objects acknowledged; the server stopped cleanly or killed. */
async function dataDirWith(count: number, end: 'stop' | 'kill'): Promise<{ dataDir: string; keys: string[] }> {
  const dataDir = await newDir();
  const server = await startServer({ dataDir });
  const session = await login(server.url);
  await createContainer(session, CONTAINER);
  const keys = Array.from({ length: count }, (_, i) => `object-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < keys.length; i += 10) {
    await Promise.all(keys.slice(i, i + 10).map((key) => putObject(session, CONTAINER, key, bodyOf(key))));
  }
  await (end === 'stop' ? server.stop() : server.kill9());
  return { dataDir, keys };
}

async function copyOf(dataDir: string): Promise<string> {
  const copy = await newDir();
  await cp(dataDir, copy, { recursive: true });
  return copy;
}

async function checksum(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Starts a server that must refuse: returns its one-line message (`onggi: …`), having checked the exit code. */
async function refusal(dataDir: string): Promise<string> {
  const error = await startServer({ dataDir }).then(
    async (server) => {
      await server.destroy();
      return assert.fail('the server started');
    },
    (err: unknown) => String(err),
  );
  assert.match(error, /exit code 1\b/);
  assert.doesNotMatch(error, /^\s+at /m, 'no stack trace');
  const lines = error.split('\n').filter((line) => line.startsWith('onggi: '));
  assert.equal(lines.length, 1, error);
  return lines[0] ?? '';
}

async function listNames(session: Session): Promise<string[]> {
  const res = await fetch(`${session.storageUrl}/${CONTAINER}?format=json`, { headers: auth(session) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { name: string }[]).map((entry) => entry.name);
}

/** Starts on `dataDir` and checks that exactly `keys` are there, each with its bytes. */
async function assertHolds(dataDir: string, keys: string[]): Promise<void> {
  const server = await startServer({ dataDir });
  try {
    const session = await login(server.url);
    assert.deepEqual(await listNames(session), keys);
    for (const key of [keys[0], keys.at(-1)]) {
      if (key === undefined) continue;
      const res = await fetch(`${session.storageUrl}/${CONTAINER}/${key}`, { headers: auth(session) });
      assert.equal(await res.text(), bodyOf(key));
    }
  } finally {
    await server.stop();
  }
}

/** Overwrites the start of the cell in the middle of a leaf page of the objects table; returns how to undo it. */
async function damageObjectsPage(file: string): Promise<() => Promise<void>> {
  const db = openDatabase(file, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const leaves = db.prepare("SELECT pageno FROM dbstat WHERE name = 't_objects' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
  db.close();
  assert.ok(leaves.length >= 3, `the objects table spans ${leaves.length} leaf pages`);
  const pageStart = ((leaves[Math.floor(leaves.length / 2)] ?? 0) - 1) * pageSize;
  const handle = await open(file, 'r+');
  try {
    const header = Buffer.alloc(pageSize);
    await handle.read(header, 0, pageSize, pageStart);
    const cells = header.readUInt16BE(3);
    const cell = header.readUInt16BE(8 + 2 * Math.floor(cells / 2));
    const original = header.subarray(cell, cell + 32);
    await handle.write(Buffer.alloc(32, 0xa5), 0, 32, pageStart + cell);
    return async () => {
      const restore = await open(file, 'r+');
      await restore.write(original, 0, original.length, pageStart + cell);
      await restore.close();
    };
  } finally {
    await handle.close();
  }
}

interface WalShape {
  size: number;
  frameBytes: number;
  frames: number;
}

async function walShape(dataDir: string): Promise<WalShape> {
  const wal = join(dataDir, 'meta.sqlite-wal');
  const header = Buffer.alloc(WAL_HEADER_BYTES);
  const handle = await open(wal, 'r');
  await handle.read(header, 0, WAL_HEADER_BYTES, 0);
  await handle.close();
  const frameBytes = FRAME_HEADER_BYTES + header.readUInt32BE(8);
  const { size } = await stat(wal);
  return { size, frameBytes, frames: Math.floor((size - WAL_HEADER_BYTES) / frameBytes) };
}

/** The files the refusal must leave as they were. */
async function walFiles(dataDir: string): Promise<string[]> {
  return Promise.all(['meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm'].map((name) => checksum(join(dataDir, name))));
}

void describe('damaged metadata files at start', sqliteOnly, () => {
  void test('a corrupted b-tree page of meta.sqlite: exit 1 naming the file, nothing changed; the page restored, every object is back', async () => {
    const { dataDir, keys } = await dataDirWith(300, 'stop');
    const file = join(dataDir, 'meta.sqlite');
    const undo = await damageObjectsPage(file);
    const damaged = await checksum(file);

    const message = await refusal(dataDir);
    assert.ok(message.startsWith(`onggi: ${file} is damaged`), message);
    assert.match(message, /quick_check/);
    assert.match(message, /restore the data directory from a backup/i);
    assert.equal(await checksum(file), damaged, 'the refusal wrote nothing');

    await undo();
    await assertHolds(dataDir, keys);
  });

  void test('meta.sqlite-wal cut inside a frame after a crash: exit 1 naming it, nothing changed; its advice starts the server on the writes before the cut', async () => {
    const { dataDir, keys } = await dataDirWith(60, 'kill');
    const wal = join(dataDir, 'meta.sqlite-wal');
    const shape = await walShape(dataDir);
    assert.ok(shape.frames > 20, `the WAL holds ${shape.frames} frames`);
    await truncate(wal, WAL_HEADER_BYTES + Math.floor(shape.frames / 2) * shape.frameBytes + 1000);
    const files = await walFiles(dataDir);

    const message = await refusal(dataDir);
    assert.ok(message.startsWith(`onggi: ${wal} `), message);
    assert.match(message, /restore the data directory from a backup/i);
    assert.deepEqual(await walFiles(dataDir), files, 'the refusal wrote nothing');
    await assert.rejects(admin(dataDir, 'project', 'list'), (err: unknown) => String(err).includes(wal));

    const advice = /: (truncate -s \d+ .*)$/.exec(message)?.[1];
    assert.ok(advice, `the message says how to start with what remains: ${message}`);
    execFileSync('sh', ['-c', advice]);
    const server = await startServer({ dataDir });
    try {
      const names = await listNames(await login(server.url));
      assert.ok(names.length > 0 && names.length < keys.length, `${names.length} of ${keys.length} objects remain`);
      assert.deepEqual(names, keys.slice(0, names.length), 'the writes before the cut, in order');
    } finally {
      await server.stop();
    }
  });

  void test('meta.sqlite-wal cut at a frame boundary or emptied is refused too; an intact one after a crash starts with every write', async () => {
    const { dataDir, keys } = await dataDirWith(60, 'kill');
    const shape = await walShape(dataDir);
    for (const cut of [WAL_HEADER_BYTES + Math.floor(shape.frames / 2) * shape.frameBytes, 0]) {
      const copy = await copyOf(dataDir);
      await truncate(join(copy, 'meta.sqlite-wal'), cut);
      const message = await refusal(copy);
      assert.ok(message.startsWith(`onggi: ${join(copy, 'meta.sqlite-wal')} `), `cut at ${cut}: ${message}`);
    }
    await assertHolds(dataDir, keys);
  });
});
