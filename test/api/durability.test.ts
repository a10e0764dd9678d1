/**
 * Crash durability: uploads run concurrently, the server is SIGKILLed mid-flight, and after a restart on the
 * same data directory every acknowledged object must read back byte-exact, nothing partial may be visible,
 * the container totals must match the listing, and the start-up sweep must clear leftovers.
 *
 * The workload of every round (sizes, keys, overwrites, when the kill comes) follows a seed that the test
 * prints; ONGGI_DURABILITY_SEED=<seed> replays it. ONGGI_LONG_TESTS=1 adds a run of many rounds
 * (ONGGI_DURABILITY_ROUNDS, default 25).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { login, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { INLINE_OBJECT_MAX } from '../../src/core/constraints.ts';

const BUCKET = 'durability';
const ROUNDS = 3;
const UPLOADS_PER_ROUND = 60;
const SLOW_UPLOADS = 4;
/** The last uploads of a round trickle their bodies in, so some are certainly mid-flight at the kill. */
const TRICKLED_UPLOADS = 10;
const MAX_SIZE = 2 * 1024 * 1024;
const LONG = process.env.ONGGI_LONG_TESTS === '1';
const LONG_ROUNDS = Number(process.env.ONGGI_DURABILITY_ROUNDS ?? 25);

/** A small seeded generator (mulberry32): the same seed gives the same workload. */
function seededRandom(seed: number): { int: (below: number) => number; fraction: () => number } {
  let state = seed >>> 0;
  const fraction = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { fraction, int: (below) => Math.floor(fraction() * below) };
}

function chooseSeed(): number {
  const given = process.env.ONGGI_DURABILITY_SEED;
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

interface Version {
  md5: string;
  size: number;
}

/** What may be visible under a key: versions acknowledged in order, and versions sent but not acknowledged. */
interface KeyHistory {
  acked: Version[];
  unacked: Version[];
}

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

function objectPath(session: Session, key: string): URL {
  return new URL(`${session.storageUrl}/${BUCKET}/${encodeURIComponent(key)}`);
}

function putRaw(agent: Agent, session: Session, key: string, body: Buffer, trickle = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(objectPath(session, key), {
      method: 'PUT',
      agent,
      headers: { 'X-Auth-Token': session.token, 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' },
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // Several writes so the body really streams in pieces; trickled ones 64 KiB every 20 ms.
    const piece = trickle ? 64 * 1024 : 256 * 1024;
    void (async () => {
      for (let offset = 0; offset < body.length; offset += piece) {
        req.write(body.subarray(offset, offset + piece));
        if (trickle) await sleep(20);
      }
      req.end();
    })();
  });
}

/** A server-side copy (PUT with X-Copy-From): the copy shares the source's blob. */
function copyRaw(agent: Agent, session: Session, from: string, to: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(objectPath(session, to), {
      method: 'PUT',
      agent,
      headers: { 'X-Auth-Token': session.token, 'Content-Length': 0, 'X-Copy-From': `${BUCKET}/${encodeURIComponent(from)}` },
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends half of the body and then stalls forever; the promise settles only when the connection dies. */
function putHalf(agent: Agent, session: Session, key: string, body: Buffer): { sent: Promise<void>; done: Promise<number | Error> } {
  let markSent: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const done = new Promise<number | Error>((resolve) => {
    const req = request(objectPath(session, key), {
      method: 'PUT',
      agent,
      headers: { 'X-Auth-Token': session.token, 'Content-Length': body.length },
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', resolve);
    req.write(body.subarray(0, body.length >> 1), () => {
      markSent();
    });
  });
  return { sent, done };
}

interface ListedObject {
  name: string;
  hash: string;
  bytes: number;
}

async function listAll(session: Session): Promise<ListedObject[]> {
  const all: ListedObject[] = [];
  let marker = '';
  for (;;) {
    const url = `${session.storageUrl}/${BUCKET}?format=json&limit=1000&marker=${encodeURIComponent(marker)}`;
    const response = await fetch(url, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(response.status, 200);
    const page = (await response.json()) as ListedObject[];
    all.push(...page);
    const last = page[page.length - 1];
    if (page.length < 1000 || !last) return all;
    marker = last.name;
  }
}

async function getBytes(session: Session, key: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(objectPath(session, key), { headers: { 'X-Auth-Token': session.token } });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function blobFiles(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'blobs');
  const shards = await readdir(root);
  const files = await Promise.all(shards.map(async (shard) => readdir(join(root, shard))));
  return files.flat();
}

async function verify(
  server: RunningServer,
  session: Session,
  history: Map<string, KeyHistory>,
  round: number,
  checked: { objects: number },
): Promise<Map<string, ListedObject>> {
  const listed = await listAll(session);
  const byName = new Map(listed.map((entry) => [entry.name, entry]));
  assert.equal(byName.size, listed.length, 'listing has duplicates');

  for (const entry of listed) {
    const known = history.get(entry.name);
    assert.ok(known, `round ${round}: unknown object ${entry.name} is listed`);
    const lastAcked = known.acked[known.acked.length - 1];
    // Visible: the last acknowledged version, or an unacknowledged one (sent later) that committed in full.
    const allowed = [...(lastAcked ? [lastAcked] : []), ...known.unacked];
    const match = allowed.find((v) => v.md5 === entry.hash && v.size === entry.bytes);
    assert.ok(match, `round ${round}: ${entry.name} is listed with ${entry.hash}/${entry.bytes}, none of the complete versions`);
  }
  for (const [key, known] of history) {
    if (known.acked.length > 0) assert.ok(byName.has(key), `round ${round}: acknowledged ${key} is not listed`);
  }

  // Every listed object reads back byte-exact; every unlisted one is a clean 404.
  const keys = [...history.keys()];
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async (key) => {
        const { status, body } = await getBytes(session, key);
        const entry = byName.get(key);
        if (!entry) {
          assert.equal(status, 404, `round ${round}: unlisted ${key} answered ${status}`);
          return;
        }
        assert.equal(status, 200, `round ${round}: listed ${key} answered ${status}`);
        checked.objects++;
        assert.equal(body.length, entry.bytes, `round ${round}: ${key} length`);
        assert.equal(md5(body), entry.hash, `round ${round}: ${key} content`);
      }),
    );
  }

  const head = await fetch(`${session.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': session.token } });
  assert.equal(head.status, 204);
  assert.equal(Number(head.headers.get('x-container-object-count')), listed.length, `round ${round}: object count`);
  assert.equal(
    Number(head.headers.get('x-container-bytes-used')),
    listed.reduce((sum, entry) => sum + entry.bytes, 0),
    `round ${round}: bytes used`,
  );

  // The start-up sweep empties tmp/ and removes blobs that no committed object points at.
  await pollUntil('tmp/ to be swept', async () => (await readdir(join(server.dataDir, 'tmp'))).length === 0);
  // Objects up to INLINE_OBJECT_MAX live in the metadata store; bigger ones in blobs, one per distinct content
  // (a copy shares its source's blob; random bodies never repeat): no referenced blob missing (every listed
  // object read back above), none left unreferenced.
  const withBlobs = new Set(listed.filter((entry) => entry.bytes > INLINE_OBJECT_MAX).map((entry) => entry.hash)).size;
  await pollUntil('orphan blobs to be swept', async () => (await blobFiles(server.dataDir)).length === withBlobs);
  return byName;
}

test('acknowledged uploads survive SIGKILL; nothing partial is ever visible', { timeout: 240_000 }, async (t) => {
  await crashRounds(t, ROUNDS, chooseSeed());
});

test(
  `many rounds of SIGKILL (ONGGI_LONG_TESTS=1; ${LONG_ROUNDS} rounds)`,
  { skip: LONG ? false : 'set ONGGI_LONG_TESTS=1 to run the long SIGKILL durability test', timeout: LONG_ROUNDS * 120_000 },
  async (t) => {
    await crashRounds(t, LONG_ROUNDS, chooseSeed());
  },
);

async function crashRounds(t: TestContext, rounds: number, seed: number): Promise<void> {
  t.diagnostic(`seed ${seed} (replay with ONGGI_DURABILITY_SEED=${seed})`);
  process.stdout.write(`# durability: ${rounds} rounds, seed ${seed} (replay with ONGGI_DURABILITY_SEED=${seed})\n`);
  const random = seededRandom(seed);
  const checked = { objects: 0 };
  let roundsRun = 0;
  let server = await startServer();
  const dataDir = server.dataDir;
  const history = new Map<string, KeyHistory>();
  try {
    let session = await login(server.url);
    assert.equal((await fetch(`${session.storageUrl}/${BUCKET}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token } })).status, 201);

    for (let round = 1; round <= rounds; round++) {
      const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
      const remember = (key: string): KeyHistory => {
        const known = history.get(key) ?? { acked: [], unacked: [] };
        history.set(key, known);
        return known;
      };

      // Slow uploads first: half a body each, so their temp files are certainly mid-write at the kill.
      const slow = Array.from({ length: SLOW_UPLOADS }, (_, i) => {
        const body = randomBytes(256 * 1024 + random.int(512 * 1024));
        const key = `r${round}/slow-${i}`;
        remember(key).unacked.push({ md5: md5(body), size: body.length });
        return putHalf(agent, session, key, body);
      });
      await Promise.all(slow.map((s) => s.sent));
      await pollUntil('slow uploads to reach tmp/', async () => (await readdir(join(dataDir, 'tmp'))).length >= SLOW_UPLOADS);

      // Fresh keys, plus overwrites of objects acknowledged in earlier rounds.
      // Each key is written at most once per round, so "the last acknowledged version" is well defined.
      const earlier = [...history.entries()]
        .filter(([, h]) => h.acked.length > 0)
        .map(([key]) => key)
        .map((key) => ({ key, order: random.fraction() }))
        .sort((a, b) => a.order - b.order)
        .map(({ key }) => key)
        .slice(0, 6);
      const jobs = Array.from({ length: UPLOADS_PER_ROUND }, (_, i) => {
        const overwrite = earlier[i];
        const key = overwrite ?? `r${round}/obj-${String(i).padStart(3, '0')}`;
        // Half the objects are small enough to live inline in the metadata row (group-committed), half are blobs.
        const trickle = i >= UPLOADS_PER_ROUND - TRICKLED_UPLOADS;
        const size = trickle ? 1024 * 1024 + random.int(MAX_SIZE) : i === 0 ? 0 : i === 1 ? 1 : i % 2 === 0 ? random.int(INLINE_OBJECT_MAX + 1) : random.int(MAX_SIZE + 1);
        return { key, body: randomBytes(size), trickle };
      });
      // Copies of earlier objects that this round does not overwrite: they share the source's blob, which later
      // rounds overwrite or copy again.
      const copies = [...history.entries()]
        .filter(([key, h]) => h.acked.length > 0 && !earlier.includes(key) && (h.acked.at(-1)?.size ?? 0) > INLINE_OBJECT_MAX)
        .map(([key, h]) => ({ from: key, version: h.acked.at(-1) as Version }))
        .sort(() => Math.random() - 0.5)
        .slice(0, 6)
        .map((c, i) => ({ ...c, to: `r${round}/copy-${i}` }));
      // Group commit acknowledges many writes at once, so the kill counts only the uploads that are not trickled.
      const killAfter = Math.max(1, Math.floor((UPLOADS_PER_ROUND - TRICKLED_UPLOADS) * (0.2 + random.fraction() * 0.4)));
      let acked = 0;
      const kill: { done: Promise<void> | null } = { done: null };
      const current = server;
      const copied = copies.map(async ({ from, to, version }) => {
        const known = remember(to);
        const status = await copyRaw(agent, session, from, to).catch(() => 'error' as const);
        if (status === 201) known.acked.push(version);
        else known.unacked.push(version);
        return status;
      });
      const outcomes = await Promise.all(
        jobs.map(async ({ key, body, trickle }) => {
          const version = { md5: md5(body), size: body.length };
          const known = remember(key);
          try {
            const status = await putRaw(agent, session, key, body, trickle);
            if (status === 201) {
              known.acked.push(version);
              acked++;
              if (acked === killAfter) kill.done = current.kill9();
            } else {
              known.unacked.push(version);
            }
            return status;
          } catch {
            known.unacked.push(version);
            return 'error';
          }
        }),
      );
      const copyOutcomes = await Promise.all(copied);
      await (kill.done ?? current.kill9());
      await Promise.all(slow.map((s) => s.done));
      agent.destroy();

      const errors = outcomes.filter((o) => o === 'error').length;
      const otherStatuses = [...outcomes, ...copyOutcomes].filter((o) => o !== 'error' && o !== 201);
      assert.deepEqual(otherStatuses, [], `round ${round}: unexpected statuses before the kill`);
      assert.ok(errors > 0, `round ${round}: the kill came after every upload finished (acked ${acked})`);

      server = await startServer({ dataDir });
      session = await login(server.url);
      const visible = await verify(server, session, history, round, checked);
      const committedUnacked = [...history].filter(([key, h]) => {
        const entry = visible.get(key);
        return entry !== undefined && h.unacked.some((v) => v.md5 === entry.hash) && h.acked.at(-1)?.md5 !== entry.hash;
      }).length;
      t.diagnostic(
        `round ${round}: ${acked} acknowledged, ${errors} cut off by the kill, ${visible.size} visible after restart ` +
          `(${committedUnacked} committed but never acknowledged)`,
      );
      // What is visible now is the state later rounds build on; versions that did not survive never may.
      for (const [key, known] of history) {
        const entry = visible.get(key);
        known.acked = entry ? [{ md5: entry.hash, size: entry.bytes }] : [];
        known.unacked = [];
      }
      roundsRun = round;
    }
  } finally {
    const summary = `${roundsRun} of ${rounds} rounds run, ${checked.objects} objects read back and checked, seed ${seed}`;
    t.diagnostic(summary);
    process.stdout.write(`# durability: ${summary}\n`);
    await server.stop();
    await removeDir(dataDir);
  }
}

test('an overwritten object always reads as one whole version, never a mix or a 404', { timeout: 120_000 }, async () => {
  const server = await startServer();
  try {
    const session = await login(server.url);
    const headers = { 'X-Auth-Token': session.token };
    assert.equal((await fetch(`${session.storageUrl}/${BUCKET}`, { method: 'PUT', headers })).status, 201);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const bodies = [randomBytes(1024 * 1024), randomBytes(1024 * 1024)] as const;
    const sums = bodies.map(md5);
    assert.equal(await putRaw(agent, session, 'flip', bodies[0]), 201);

    let writing = true;
    let writes = 0;
    const writer = (async () => {
      try {
        for (let i = 1; i <= 40; i++) {
          assert.equal(await putRaw(agent, session, 'flip', bodies[i % 2] ?? bodies[0]), 201);
          writes++;
        }
      } finally {
        writing = false;
      }
    })();
    const seen = new Map<string, number>();
    const reader = async (): Promise<void> => {
      while (writing) {
        const { status, body } = await getBytes(session, 'flip');
        assert.equal(status, 200, 'a read during overwrites was not 200');
        assert.equal(body.length, 1024 * 1024, 'a read returned a partial body');
        const sum = md5(body);
        assert.ok(sums.includes(sum), 'a read returned a mix of versions');
        seen.set(sum, (seen.get(sum) ?? 0) + 1);
      }
    };
    await Promise.all([writer, reader(), reader(), reader(), reader()]);
    agent.destroy();
    assert.equal(writes, 40);
    assert.ok([...seen.values()].reduce((a, b) => a + b, 0) > 0, 'no read happened');
    const final = await getBytes(session, 'flip');
    assert.equal(md5(final.body), sums[0], 'the last write (even index) wins');
  } finally {
    await server.destroy();
  }
});

test('a client that disconnects mid-body leaves no object, no temp and no blob behind', { timeout: 60_000 }, async () => {
  const server = await startServer();
  try {
    const session = await login(server.url);
    assert.equal((await fetch(`${session.storageUrl}/${BUCKET}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token } })).status, 201);
    const before = (await blobFiles(server.dataDir)).length;
    const agent = new Agent({ keepAlive: false });
    for (const chunked of [false, true]) {
      for (const key of ['cut-1', 'cut-2', 'cut-3']) {
        const body = randomBytes(512 * 1024);
        await new Promise<void>((resolve) => {
          const req = request(objectPath(session, `${key}-${String(chunked)}`), {
            method: 'PUT',
            agent,
            headers: chunked ? { 'X-Auth-Token': session.token, 'Transfer-Encoding': 'chunked' } : { 'X-Auth-Token': session.token, 'Content-Length': body.length },
          });
          req.on('error', () => {
            resolve();
          });
          req.on('response', (res: IncomingMessage) => {
            res.resume();
            resolve();
          });
          req.write(body.subarray(0, 200 * 1024), () => {
            // Give the server time to open its temp file, then vanish.
            setTimeout(() => req.destroy(), 150);
          });
        });
      }
    }
    agent.destroy();
    for (const chunked of [false, true]) {
      for (const key of ['cut-1', 'cut-2', 'cut-3']) {
        assert.equal((await getBytes(session, `${key}-${String(chunked)}`)).status, 404, `${key} chunked=${String(chunked)}`);
      }
    }
    await pollUntil('temps of aborted uploads to go', async () => (await readdir(join(server.dataDir, 'tmp'))).length === 0);
    await pollUntil('blobs of aborted uploads to go', async () => (await blobFiles(server.dataDir)).length === before);
    const head = await fetch(`${session.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': session.token } });
    assert.equal(head.headers.get('x-container-object-count'), '0');
  } finally {
    await server.destroy();
  }
});
