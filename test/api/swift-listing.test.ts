import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { login, onPostgres, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { assertTransactionIds, auth, bucketName, createContainer, md5Hex, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
});
after(async () => {
  await server.destroy();
});

interface ObjectEntry {
  name: string;
  hash: string;
  bytes: number;
  content_type: string;
  last_modified: string;
}
type Entry = ObjectEntry | { subdir: string };

const nameOf = (e: Entry): string => ('subdir' in e ? `dir:${e.subdir}` : e.name);

void describe('listing parameters', () => {
  const C = 'listing-params';
  const keys = ['a.txt', 'b/1', 'b/2', 'b/c/3', 'c.txt', 'd/', 'd/x', 'e&f<g>"h".txt', '한글/파일.txt'];
  const url = (query: string): string => `${session.storageUrl}/${C}?${query}`;
  const json = async (query: string): Promise<Entry[]> => {
    const res = await fetch(url(`format=json&${query}`), { headers: auth(session) });
    assert.equal(res.status, 200, query);
    return (await res.json()) as Entry[];
  };
  const names = async (query: string): Promise<string[]> => (await json(query)).map(nameOf);

  before(async () => {
    await createContainer(session, C);
    for (const key of keys) await putObject(session, C, key, `body of ${key}`, { 'Content-Type': key.endsWith('/') ? 'application/directory' : 'text/plain' });
  });

  void test('plain listing: one name per line, sorted', async () => {
    const res = await fetch(url(''), { headers: auth(session) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), [...keys].sort().map((k) => `${k}\n`).join(''));
    assert.equal(res.headers.get('x-container-object-count'), String(keys.length));
    assertTransactionIds(res.headers);
  });

  void test('json entries carry name, hash, bytes, content_type, last_modified', async () => {
    const entries = (await json('prefix=a.txt')) as ObjectEntry[];
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.ok(entry);
    assert.equal(entry.name, 'a.txt');
    assert.equal(entry.hash, md5Hex('body of a.txt'));
    assert.equal(entry.bytes, 'body of a.txt'.length);
    assert.equal(entry.content_type, 'text/plain');
    assert.match(entry.last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  void test('prefix', async () => {
    assert.deepEqual(await names('prefix=b/'), ['b/1', 'b/2', 'b/c/3']);
    assert.deepEqual(await names('prefix=zzz'), []);
    assert.deepEqual(await names(`prefix=${encodeURIComponent('한글/')}`), ['한글/파일.txt']);
  });

  void test('delimiter rolls up common prefixes into subdir entries', async () => {
    assert.deepEqual(await names('delimiter=/'), ['a.txt', 'dir:b/', 'c.txt', 'dir:d/', 'e&f<g>"h".txt', 'dir:한글/']);
    assert.deepEqual(await names('delimiter=/&prefix=b/'), ['b/1', 'b/2', 'dir:b/c/']);
    assert.deepEqual(await names('delimiter=/&prefix=d/'), ['d/', 'd/x']);
    const plain = await fetch(url('delimiter=/&prefix=b/'), { headers: auth(session) });
    assert.equal(await plain.text(), 'b/1\nb/2\nb/c/\n');
  });

  void test('delimiter other than /', async () => {
    assert.deepEqual(await names('delimiter=.'), ['a.', 'b/1', 'b/2', 'b/c/3', 'c.', 'd/', 'd/x', 'e&f<g>"h".', '한글/파일.'].map((n) => (n.endsWith('.') ? `dir:${n}` : n)));
  });

  void test('marker and end_marker are exclusive bounds', async () => {
    assert.deepEqual(await names('marker=b/2'), ['b/c/3', 'c.txt', 'd/', 'd/x', 'e&f<g>"h".txt', '한글/파일.txt']);
    assert.deepEqual(await names('end_marker=b/2'), ['a.txt', 'b/1']);
    assert.deepEqual(await names('marker=a.txt&end_marker=c.txt'), ['b/1', 'b/2', 'b/c/3']);
    assert.deepEqual(await names(`marker=${encodeURIComponent('한글/파일.txt')}`), []);
    assert.deepEqual(await names('delimiter=/&marker=b/'), ['c.txt', 'dir:d/', 'e&f<g>"h".txt', 'dir:한글/']);
  });

  void test('limit', async () => {
    assert.deepEqual(await names('limit=2'), ['a.txt', 'b/1']);
    assert.deepEqual(await names('limit=2&delimiter=/'), ['a.txt', 'dir:b/']);
    assert.deepEqual(await names('limit=0'), []);
    assert.equal((await json('limit=10000')).length, keys.length);
  });

  void test('limit above 10000 is 412; a limit that is not all digits is ignored, as in Swift', async () => {
    const res = await fetch(url('limit=10001'), { headers: auth(session) });
    assert.equal(res.status, 412);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
    const huge = await fetch(url('limit=99999999999999999999'), { headers: auth(session) });
    assert.equal(huge.status, 412);
    await huge.body?.cancel();
    assert.equal((await json('limit=abc')).length, keys.length);
    assert.equal((await json('limit=-1')).length, keys.length);
  });

  void test('a delimiter of several characters rolls up at its first occurrence after the prefix', async () => {
    assert.deepEqual(await json('delimiter=b/'), [
      ...(await json('prefix=a')),
      { subdir: 'b/' },
      ...(await json('prefix=c')),
      ...(await json('prefix=d')),
      ...(await json('prefix=e')),
      ...(await json('prefix=한')),
    ]);
    assert.deepEqual(await names('prefix=b/&delimiter=/3'), ['b/1', 'b/2', 'dir:b/c/3']);
    assert.deepEqual((await json('prefix=b/&delimiter=/3')).at(-1), { subdir: 'b/c/3' });
  });

  void test('reverse', async () => {
    assert.deepEqual(await names('reverse=true'), [...keys].sort().reverse());
    assert.deepEqual(await names('reverse=true&limit=2'), ['한글/파일.txt', 'e&f<g>"h".txt']);
    assert.deepEqual(await names('reverse=true&marker=c.txt'), ['b/c/3', 'b/2', 'b/1', 'a.txt']);
    assert.deepEqual(await names('reverse=true&marker=c.txt&end_marker=b/1'), ['b/c/3', 'b/2']);
    assert.deepEqual(await names('reverse=true&delimiter=/'), ['dir:한글/', 'e&f<g>"h".txt', 'dir:d/', 'c.txt', 'dir:b/', 'a.txt']);
    assert.deepEqual(await names('reverse=false&limit=1'), ['a.txt']);
  });

  void test('path lists what sits directly under a pseudo-directory', async () => {
    const underB = await names('path=b');
    assert.ok(underB.includes('b/1') && underB.includes('b/2'), underB.join());
    assert.ok(!underB.includes('b/c/3'), underB.join());
    assert.ok(!underB.some((n) => n.startsWith('dir:')), underB.join());
    assert.deepEqual(await names('path=b/'), underB);
    assert.deepEqual(await names('path=nothing'), []);
  });

  void test('xml listing with subdir elements in name order, names escaped', async () => {
    const res = await fetch(url('format=xml&delimiter=/'), { headers: auth(session) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/xml/);
    const text = await res.text();
    assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<container name="listing-params">/);
    assert.ok(text.includes('<subdir name="b/"><name>b/</name></subdir>'), text);
    assert.ok(text.includes('<subdir name="한글/"><name>한글/</name></subdir>'), text);
    assert.ok(text.includes('<name>e&amp;f&lt;g&gt;"h".txt</name>') || text.includes('<name>e&amp;f&lt;g&gt;&quot;h&quot;.txt</name>'), text);
    assert.match(text, /<object><name>a\.txt<\/name><hash>[0-9a-f]{32}<\/hash><bytes>13<\/bytes><content_type>text\/plain<\/content_type><last_modified>[^<]+<\/last_modified><\/object>/);
    // Entries come in listing order, objects and subdirs interleaved.
    const order = [...text.matchAll(/<(object|subdir)(?: name="[^"]*")?><name>([^<]*)<\/name>/g)].map((m) => m[2]);
    assert.deepEqual(order, ['a.txt', 'b/', 'c.txt', 'd/', 'e&amp;f&lt;g&gt;"h".txt', '한글/'].map((n) => (text.includes('&quot;') ? n.replace(/"/g, '&quot;') : n)));
  });

  void test('format chosen by Accept header; format= wins over Accept', async () => {
    const asJson = await fetch(url('prefix=a'), { headers: auth(session, { Accept: 'application/json' }) });
    assert.match(asJson.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(((await asJson.json()) as Entry[]).map(nameOf), ['a.txt']);
    for (const accept of ['application/xml', 'text/xml']) {
      const asXml = await fetch(url('prefix=a'), { headers: auth(session, { Accept: accept }) });
      assert.match(asXml.headers.get('content-type') ?? '', /^application\/xml/);
      assert.match(await asXml.text(), /<object><name>a\.txt<\/name>/);
    }
    const plain = await fetch(url('prefix=a'), { headers: auth(session, { Accept: 'text/plain' }) });
    assert.equal(await plain.text(), 'a.txt\n');
    const override = await fetch(url('prefix=a&format=plain'), { headers: auth(session, { Accept: 'application/json' }) });
    assert.equal(await override.text(), 'a.txt\n');
  });

  void test('an empty result: 204 for plain, 200 [] for json, 200 document for xml', async () => {
    const plain = await fetch(url('prefix=none'), { headers: auth(session) });
    assert.equal(plain.status, 204);
    assert.equal(await plain.text(), '');
    assert.equal(plain.headers.get('x-container-object-count'), String(keys.length));
    assert.deepEqual(await json('prefix=none'), []);
    const xml = await fetch(url('prefix=none&format=xml'), { headers: auth(session) });
    assert.equal(xml.status, 200);
    assert.match(await xml.text(), /<container name="listing-params"(><\/container>|\s*\/>)/);
  });

  void test('HEAD on a container is not a listing', async () => {
    const res = await fetch(url('format=json'), { method: 'HEAD', headers: auth(session) });
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
  });
});

void describe('paging', () => {
  const C = 'listing-paging';
  const keys: string[] = [];

  before(async () => {
    await createContainer(session, C);
    for (let i = 0; i < 350; i++) keys.push(`item/${String(i).padStart(4, '0')}${i % 7 === 0 ? '/deep' : ''}`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((key) => putObject(session, C, key, key)));
    }
    keys.sort();
  });

  void test('marker paging walks every key exactly once', async () => {
    const seen: string[] = [];
    let marker = '';
    for (let page = 0; page < 100; page++) {
      const res = await fetch(`${session.storageUrl}/${C}?format=json&limit=40&marker=${encodeURIComponent(marker)}`, { headers: auth(session) });
      assert.equal(res.status, 200);
      const entries = (await res.json()) as ObjectEntry[];
      if (entries.length === 0) break;
      assert.ok(entries.length <= 40);
      seen.push(...entries.map((e) => e.name));
      marker = entries[entries.length - 1]?.name ?? '';
    }
    assert.deepEqual(seen, keys);
  });

  void test('reverse paging walks every key exactly once, backwards', async () => {
    const seen: string[] = [];
    let marker = '';
    for (let page = 0; page < 100; page++) {
      const res = await fetch(`${session.storageUrl}/${C}?limit=64&reverse=1&marker=${encodeURIComponent(marker)}`, { headers: auth(session) });
      if (res.status === 204) break;
      const names = (await res.text()).split('\n').filter((n) => n !== '');
      seen.push(...names);
      marker = names[names.length - 1] ?? '';
    }
    assert.deepEqual(seen, [...keys].reverse());
  });

  void test('paging with a delimiter', async () => {
    const seen: string[] = [];
    let marker = '';
    for (let page = 0; page < 100; page++) {
      const res = await fetch(`${session.storageUrl}/${C}?format=json&limit=33&prefix=item/&delimiter=/&marker=${encodeURIComponent(marker)}`, { headers: auth(session) });
      const entries = (await res.json()) as Entry[];
      if (entries.length === 0) break;
      seen.push(...entries.map(nameOf));
      const last = entries[entries.length - 1];
      marker = last === undefined ? '' : 'subdir' in last ? last.subdir : last.name;
    }
    const expected = [...new Set(keys.map((k) => (k.endsWith('/deep') ? `dir:${k.slice(0, -'deep'.length)}` : k)))];
    assert.deepEqual(seen, expected);
  });

  void test('the container counts every object', async () => {
    const res = await fetch(`${session.storageUrl}/${C}`, { method: 'HEAD', headers: auth(session) });
    assert.equal(res.headers.get('x-container-object-count'), String(keys.length));
  });
});

void describe('encrypted bucket', () => {
  let name: string;
  const marker = 'PLAINTEXT-MARKER-4f1c2b';

  before(async () => {
    name = bucketName('enc');
    const res = await fetch(`${server.url}/v1_ext/bucket`, {
      method: 'PUT',
      headers: auth(session, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ name, type: 'STANDARD', use_encryption: true }),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { use_encryption?: boolean };
    assert.equal(body.use_encryption, true);
  });

  void test('bytes round-trip for sizes around the cipher block', async () => {
    for (const size of [0, 1, 15, 16, 17, 4095, 65_537, 1_000_003]) {
      const data = randomBytes(size);
      const put = await putObject(session, name, `size-${String(size)}`, data);
      assert.equal(put.headers.get('etag'), md5Hex(data));
      const res = await fetch(`${session.storageUrl}/${name}/size-${String(size)}`, { headers: auth(session) });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(size));
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), `size ${String(size)}`);
    }
  });

  void test('ranges decrypt correctly at any offset', async () => {
    const data = randomBytes(100_000);
    await putObject(session, name, 'ranged', data);
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=1-14', 1, 14],
      ['bytes=15-16', 15, 16],
      ['bytes=16-31', 16, 31],
      ['bytes=17-65553', 17, 65_553],
      ['bytes=99990-', 99_990, 99_999],
      ['bytes=-7', 99_993, 99_999],
      ['bytes=65535-65537', 65_535, 65_537],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(`${session.storageUrl}/${name}/ranged`, { headers: auth(session, { Range: range }) });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${String(start)}-${String(end)}/100000`);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(data.subarray(start, end + 1)), range);
    }
    const multi = await fetch(`${session.storageUrl}/${name}/ranged`, { headers: auth(session, { Range: 'bytes=3-5,50001-50003' }) });
    assert.equal(multi.status, 206);
    const text = Buffer.from(await multi.arrayBuffer());
    assert.ok(text.includes(data.subarray(3, 6)));
    assert.ok(text.includes(data.subarray(50_001, 50_004)));
  });

  void test('a copy out of and into the encrypted bucket keeps the bytes', async () => {
    const data = randomBytes(33_333);
    await putObject(session, name, 'copy-src', data);
    const plainBucket = bucketName('plain');
    await createContainer(session, plainBucket);
    const out = await fetch(`${session.storageUrl}/${plainBucket}/copied`, { method: 'PUT', headers: auth(session, { 'X-Copy-From': `/${name}/copy-src` }) });
    assert.equal(out.status, 201);
    const back = await fetch(`${session.storageUrl}/${plainBucket}/copied`, { headers: auth(session) });
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(data));
    const into = await fetch(`${session.storageUrl}/${plainBucket}/copied`, { method: 'COPY', headers: auth(session, { Destination: `/${name}/copied-back` }) });
    assert.equal(into.status, 201);
    const again = await fetch(`${session.storageUrl}/${name}/copied-back`, { headers: auth(session) });
    assert.ok(Buffer.from(await again.arrayBuffer()).equals(data));
  });

  // A small object (kept in the metadata store) and a large one (a blob file).
  const sizes = { small: 1000, large: 5000 };

  void test('the bytes are not stored in plain text', async () => {
    for (const [key, repeat] of Object.entries(sizes)) {
      await putObject(session, name, `${key}.txt`, marker.repeat(repeat));
      const res = await fetch(`${session.storageUrl}/${name}/${key}.txt`, { headers: auth(session) });
      assert.equal(await res.text(), marker.repeat(repeat));
    }
    assert.equal(await findInDir(server.dataDir, Buffer.from(marker)), null);
  });

  void test('an unencrypted bucket is the control: its bytes are found on disk', async () => {
    const plainBucket = bucketName('ctrl');
    await createContainer(session, plainBucket);
    for (const [key, repeat] of Object.entries(sizes)) {
      const control = `CONTROL-${key}-${marker}`;
      await putObject(session, plainBucket, `${key}.txt`, control.repeat(repeat));
      // With PostgreSQL, small objects are in the database, not in the data directory.
      if (key === 'small' && onPostgres) continue;
      assert.notEqual(await findInDir(server.dataDir, Buffer.from(control)), null, key);
    }
  });
});

/** The first file under `dir` whose bytes contain `needle`, or null. */
async function findInDir(dir: string, needle: Buffer): Promise<string | null> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    try {
      if ((await readFile(path)).includes(needle)) return path;
    } catch {
      // A file removed while we looked.
    }
  }
  return null;
}
