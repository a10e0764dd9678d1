/**
 * boto3 against a real server, twice: Debian's python3-boto3 over plain HTTP, and a current boto3 (the venv
 * scripts/install-test-deps.sh makes) over TLS, where its default flexible checksums travel as trailers of
 * aws-chunked bodies. Transfer manager up and down (multipart, threads), paginated listings, presigned GET and
 * PUT used with requests and urllib, copies, DeleteObjects, checksums, reads of one part (`PartNumber`), versions and
 * uploads paginated, conditional writes, SigV2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys } from '../helpers/s3.ts';

/** Where scripts/install-test-deps.sh puts a current boto3. */
const CURRENT_BOTO3 = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'onggi-test', 'boto3-current', 'bin', 'python');

let server: RunningServer;
let home: string;
let tls: TlsServer;
let tlsUrl: string;

before(async () => {
  server = await startServer();
  home = await makeTempDir('onggi-boto3-');
  tls = await tlsFront(server, home);
  tlsUrl = `https://127.0.0.1:${String((tls.address() as AddressInfo).port)}`;
});
after(async () => {
  tls.close();
  await server.destroy();
  await removeDir(home);
});

/** TLS in front of the server, as a proxy would terminate it: a self-signed pair made for this run. */
async function tlsFront(target: RunningServer, dir: string): Promise<TlsServer> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const openssl = spawn('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const [code] = (await once(openssl, 'close')) as [number | null];
  assert.equal(code, 0, 'openssl made no certificate');
  const port = Number(new URL(target.url).port);
  const front = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (socket) => {
    const upstream = connect(port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  return front;
}

const PRELUDE = `
import boto3, botocore, hashlib, io, json, os, sys, threading, urllib.request, ssl, warnings
warnings.filterwarnings('ignore')
import requests
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
ENDPOINT = os.environ['S3_ENDPOINT']
s3 = boto3.client('s3', endpoint_url=ENDPOINT, aws_access_key_id=os.environ['S3_KEY'], aws_secret_access_key=os.environ['S3_SECRET'],
                  region_name='kr-central-2', verify=False, config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}, signature_version='s3v4'))
BUCKET = os.environ['S3_BUCKET']
HOME = os.environ['HOME']
def md5(b): return hashlib.md5(b).hexdigest()
sent = []
def remember(request, **kwargs): sent.append((request.url, dict(request.headers)))
s3.meta.events.register('before-send.s3', remember)
`;

/** Runs a Python script with one boto3 client `s3` bound to the endpoint; its stdout's last line as JSON. */
async function python(interpreter: string, endpoint: string, bucket: string, script: string): Promise<unknown> {
  const keys = printedS3Keys(server);
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: home, S3_ENDPOINT: endpoint, S3_KEY: keys.accessKeyId, S3_SECRET: keys.secretAccessKey, S3_BUCKET: bucket, AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none') };
  const child = spawn(interpreter, ['-c', PRELUDE + script], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, `python exited ${String(code)}:\n${stdout}\n${stderr}`);
  const last = stdout.trim().split('\n').pop() ?? 'null';
  return JSON.parse(last) as unknown;
}

const clients = [
  { name: "Debian's boto3 over HTTP", interpreter: '/usr/bin/python3', tls: false, bucket: 'boto3-debian' },
  { name: 'a current boto3 over TLS (checksums in trailers)', interpreter: CURRENT_BOTO3, tls: true, bucket: 'boto3-current' },
];

for (const client of clients) {
  // Debian's boto3 is always installed; the current one only where install-test-deps.sh reached a package index.
  const missing = client.interpreter === CURRENT_BOTO3 && !existsSync(CURRENT_BOTO3) ? `${CURRENT_BOTO3} is missing (no Python package index reached)` : false;
  describe(client.name, { concurrency: false, skip: missing }, () => {
    const run = (script: string): Promise<unknown> => python(client.interpreter, client.tls ? tlsUrl : server.url, client.bucket, script);

    before(() => {
      assert.ok(existsSync(client.interpreter), `${client.interpreter} is missing: run scripts/install-test-deps.sh`);
    });

    test('transfer manager: upload_file and download_file in parts on threads, upload_fileobj', async () => {
      const result = (await run(`
s3.create_bucket(Bucket=BUCKET)
data = os.urandom(17 * 1024 * 1024 + 5)
with open(HOME + '/up.bin', 'wb') as f: f.write(data)
config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4, use_threads=True)
s3.upload_file(HOME + '/up.bin', BUCKET, 'big/up.bin', Config=config, ExtraArgs={'Metadata': {'origin': 'boto3'}, 'ContentType': 'application/x-test'})
head = s3.head_object(Bucket=BUCKET, Key='big/up.bin')
s3.download_file(BUCKET, 'big/up.bin', HOME + '/down.bin', Config=config)
with open(HOME + '/down.bin', 'rb') as f: down = f.read()
part = s3.head_object(Bucket=BUCKET, Key='big/up.bin', PartNumber=2)
last = s3.get_object(Bucket=BUCKET, Key='big/up.bin', PartNumber=4)
last_bytes = last['Body'].read()
s3.upload_fileobj(io.BytesIO(b'small object'), BUCKET, 'small.txt')
got = s3.get_object(Bucket=BUCKET, Key='small.txt')['Body'].read()
print(json.dumps({'same': md5(down) == md5(data), 'etag': head['ETag'], 'size': head['ContentLength'], 'meta': head['Metadata'], 'type': head['ContentType'], 'small': got.decode(),
  'ranged': sum(1 for url, h in sent if 'Range' in h or b'Range' in h),
  'part': [part['ResponseMetadata']['HTTPStatusCode'], part['PartsCount'], part['ContentLength'], part['ResponseMetadata']['HTTPHeaders'].get('content-range')],
  'last': [last['PartsCount'], last['ContentRange'], last_bytes == data[15 * 1024 * 1024:]]}))
`)) as { same: boolean; etag: string; size: number; meta: Record<string, string>; type: string; small: string; ranged: number; part: unknown[]; last: unknown[] };
      assert.equal(result.same, true);
      assert.match(result.etag, /^"[0-9a-f]{32}-4"$/);
      assert.equal(result.size, 17 * 1024 * 1024 + 5);
      assert.deepEqual(result.meta, { origin: 'boto3' });
      assert.equal(result.type, 'application/x-test');
      assert.equal(result.small, 'small object');
      assert.ok(result.ranged >= 4, 'download_file read the object in ranged parts');
      const size = 17 * 1024 * 1024 + 5;
      assert.deepEqual(result.part, [206, 4, 5 * 1024 * 1024, `bytes ${String(5 * 1024 * 1024)}-${String(10 * 1024 * 1024 - 1)}/${String(size)}`]);
      assert.deepEqual(result.last, [4, `bytes ${String(15 * 1024 * 1024)}-${String(size - 1)}/${String(size)}`, true]);
    });

    test('list_objects_v2 and list_objects paginators, delimiters, start-after', async () => {
      const result = (await run(`
for i in range(25): s3.put_object(Bucket=BUCKET, Key='list/%02d' % i, Body=b'x')
for d in ['a', 'b']: s3.put_object(Bucket=BUCKET, Key='list/dir-%s/inner' % d, Body=b'y')
pages = list(s3.get_paginator('list_objects_v2').paginate(Bucket=BUCKET, Prefix='list/', PaginationConfig={'PageSize': 10}))
keys = [o['Key'] for p in pages for o in p.get('Contents', [])]
grouped = list(s3.get_paginator('list_objects_v2').paginate(Bucket=BUCKET, Prefix='list/', Delimiter='/', PaginationConfig={'PageSize': 10}))
prefixes = [c['Prefix'] for p in grouped for c in p.get('CommonPrefixes', [])]
direct = [o['Key'] for p in grouped for o in p.get('Contents', [])]
v1 = list(s3.get_paginator('list_objects').paginate(Bucket=BUCKET, Prefix='list/', PaginationConfig={'PageSize': 7}))
v1keys = [o['Key'] for p in v1 for o in p.get('Contents', [])]
after = s3.list_objects_v2(Bucket=BUCKET, Prefix='list/', StartAfter='list/20')
print(json.dumps({'pages': len(pages), 'keys': keys, 'prefixes': prefixes, 'direct': len(direct), 'v1pages': len(v1), 'v1keys': v1keys,
  'after': [o['Key'] for o in after['Contents']]}))
`)) as { pages: number; keys: string[]; prefixes: string[]; direct: number; v1pages: number; v1keys: string[]; after: string[] };
      const expected = [...Array.from({ length: 25 }, (_, i) => `list/${String(i).padStart(2, '0')}`), 'list/dir-a/inner', 'list/dir-b/inner'];
      assert.equal(result.pages, 3);
      assert.deepEqual(result.keys, expected);
      assert.deepEqual(result.prefixes, ['list/dir-a/', 'list/dir-b/']);
      assert.equal(result.direct, 25);
      assert.equal(result.v1pages, 4);
      assert.deepEqual(result.v1keys, expected);
      assert.deepEqual(result.after, ['list/21', 'list/22', 'list/23', 'list/24', 'list/dir-a/inner', 'list/dir-b/inner']);
    });

    test('presigned PUT and GET with requests and urllib, response-* overrides, an expired URL refused', async () => {
      const result = (await run(`
put_url = s3.generate_presigned_url('put_object', Params={'Bucket': BUCKET, 'Key': 'presigned/한글.txt'}, ExpiresIn=300)
put = requests.put(put_url, data=b'put through a presigned URL', verify=False)
get_url = s3.generate_presigned_url('get_object', Params={'Bucket': BUCKET, 'Key': 'presigned/한글.txt', 'ResponseContentDisposition': 'attachment; filename="x.txt"', 'ResponseContentType': 'text/x-test'}, ExpiresIn=300)
got = requests.get(get_url, verify=False)
context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
with urllib.request.urlopen(get_url, context=context) as r: via_urllib = r.read().decode()
expired = s3.generate_presigned_url('get_object', Params={'Bucket': BUCKET, 'Key': 'presigned/한글.txt'}, ExpiresIn=1)
import time; time.sleep(2)
late = requests.get(expired, verify=False)
print(json.dumps({'put': put.status_code, 'get': got.status_code, 'body': got.text, 'disposition': got.headers.get('Content-Disposition'), 'type': got.headers.get('Content-Type'),
  'urllib': via_urllib, 'late': late.status_code, 'lateBody': late.text}))
`)) as { put: number; get: number; body: string; disposition: string; type: string; urllib: string; late: number; lateBody: string };
      assert.equal(result.put, 200);
      assert.equal(result.get, 200);
      assert.equal(result.body, 'put through a presigned URL');
      assert.equal(result.disposition, 'attachment; filename="x.txt"');
      assert.equal(result.type, 'text/x-test');
      assert.equal(result.urllib, 'put through a presigned URL');
      assert.equal(result.late, 403);
      assert.match(result.lateBody, /<Code>AccessDenied<\/Code>[\s\S]*expired/i);
    });

    test('copy_object (metadata replaced), managed copy in parts (UploadPartCopy), delete_objects', async () => {
      const result = (await run(`
s3.put_object(Bucket=BUCKET, Key='copy/source.txt', Body=b'copy me', Metadata={'a': '1'})
s3.copy_object(Bucket=BUCKET, Key='copy/replaced.txt', CopySource={'Bucket': BUCKET, 'Key': 'copy/source.txt'}, Metadata={'b': '2'}, MetadataDirective='REPLACE', ContentType='text/plain')
replaced = s3.head_object(Bucket=BUCKET, Key='copy/replaced.txt')
config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
s3.copy({'Bucket': BUCKET, 'Key': 'big/up.bin'}, BUCKET, 'copy/big.bin', Config=config)
big = s3.head_object(Bucket=BUCKET, Key='copy/big.bin')
source = s3.head_object(Bucket=BUCKET, Key='big/up.bin')
same = md5(s3.get_object(Bucket=BUCKET, Key='copy/big.bin')['Body'].read()) == md5(s3.get_object(Bucket=BUCKET, Key='big/up.bin')['Body'].read())
keys = [{'Key': 'copy/source.txt'}, {'Key': 'copy/replaced.txt'}, {'Key': 'copy/never-was.txt'}]
deleted = s3.delete_objects(Bucket=BUCKET, Delete={'Objects': keys})
left = s3.list_objects_v2(Bucket=BUCKET, Prefix='copy/')
print(json.dumps({'meta': replaced['Metadata'], 'type': replaced['ContentType'], 'bigEtag': big['ETag'], 'size': big['ContentLength'], 'sourceSize': source['ContentLength'], 'same': same,
  'copiedParts': sum(1 for url, h in sent if 'partNumber=' in url and 'x-amz-copy-source' in {k.lower() for k in h}),
  'deleted': sorted(d['Key'] for d in deleted.get('Deleted', [])), 'errors': deleted.get('Errors', []), 'left': [o['Key'] for o in left.get('Contents', [])]}))
`)) as { meta: Record<string, string>; type: string; bigEtag: string; size: number; sourceSize: number; same: boolean; copiedParts: number; deleted: string[]; errors: unknown[]; left: string[] };
      assert.deepEqual(result.meta, { b: '2' });
      assert.equal(result.type, 'text/plain');
      assert.equal(result.size, result.sourceSize);
      assert.equal(result.same, true);
      assert.equal(result.copiedParts, 4);
      assert.match(result.bigEtag, /-4"$/);
      assert.deepEqual(result.deleted, ['copy/never-was.txt', 'copy/replaced.txt', 'copy/source.txt']);
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.left, ['copy/big.bin']);
    });

    test('versions and uploads paginated, the resource API deleting every version, If-None-Match, SigV2', async () => {
      const result = (await run(`
s3.create_bucket(Bucket=BUCKET + '-v')
s3.put_bucket_versioning(Bucket=BUCKET + '-v', VersioningConfiguration={'Status': 'Enabled'})
for i in range(3): s3.put_object(Bucket=BUCKET + '-v', Key='kept', Body=b'%d' % i)
s3.delete_object(Bucket=BUCKET + '-v', Key='kept')
pages = list(s3.get_paginator('list_object_versions').paginate(Bucket=BUCKET + '-v', PaginationConfig={'PageSize': 2}))
versions = [v['VersionId'] for p in pages for v in p.get('Versions', [])]
markers = [m['VersionId'] for p in pages for m in p.get('DeleteMarkers', [])]
upload = s3.create_multipart_upload(Bucket=BUCKET + '-v', Key='pending')['UploadId']
for n in (1, 2, 3): s3.upload_part(Bucket=BUCKET + '-v', Key='pending', UploadId=upload, PartNumber=n, Body=b'part')
parts = [p['PartNumber'] for page in s3.get_paginator('list_parts').paginate(Bucket=BUCKET + '-v', Key='pending', UploadId=upload, PaginationConfig={'PageSize': 2}) for p in page.get('Parts', [])]
uploads = [u['UploadId'] for page in s3.get_paginator('list_multipart_uploads').paginate(Bucket=BUCKET + '-v') for u in page.get('Uploads', [])]
s3.abort_multipart_upload(Bucket=BUCKET + '-v', Key='pending', UploadId=upload)
resource = boto3.resource('s3', endpoint_url=ENDPOINT, aws_access_key_id=os.environ['S3_KEY'], aws_secret_access_key=os.environ['S3_SECRET'], region_name='kr-central-2', verify=False, config=Config(s3={'addressing_style': 'path'}))
resource.Bucket(BUCKET + '-v').object_versions.all().delete()
resource.Bucket(BUCKET + '-v').delete()
conditional = None
if 'IfNoneMatch' in s3.meta.service_model.operation_model('PutObject').input_shape.members:
  s3.put_object(Bucket=BUCKET, Key='once', Body=b'first', IfNoneMatch='*')
  try:
    s3.put_object(Bucket=BUCKET, Key='once', Body=b'second', IfNoneMatch='*'); conditional = 'overwritten'
  except botocore.exceptions.ClientError as e: conditional = e.response['Error']['Code']
v2 = boto3.client('s3', endpoint_url=ENDPOINT, aws_access_key_id=os.environ['S3_KEY'], aws_secret_access_key=os.environ['S3_SECRET'], region_name='kr-central-2', verify=False,
                  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}, signature_version='s3'))
v2.put_object(Bucket=BUCKET, Key='signed-v2', Body=b'v2 body', ContentType='text/plain', Metadata={'m': 'v'})
v2got = v2.get_object(Bucket=BUCKET, Key='signed-v2')
v2listed = [o['Key'] for o in v2.list_objects(Bucket=BUCKET, Prefix='signed-')['Contents']]
v2url = requests.get(v2.generate_presigned_url('get_object', Params={'Bucket': BUCKET, 'Key': 'signed-v2'}), verify=False).text
v2.delete_object(Bucket=BUCKET, Key='signed-v2')
print(json.dumps({'versions': len(versions), 'markers': len(markers), 'pages': len(pages), 'parts': parts, 'uploads': uploads == [upload], 'gone': BUCKET + '-v' not in [b['Name'] for b in s3.list_buckets()['Buckets']],
  'conditional': conditional, 'v2': [v2got['Body'].read().decode(), v2got['Metadata'], v2listed, v2url]}))
`)) as { versions: number; markers: number; pages: number; parts: number[]; uploads: boolean; gone: boolean; conditional: string | null; v2: unknown[] };
      assert.equal(result.versions, 3);
      assert.equal(result.markers, 1);
      assert.equal(result.pages, 2);
      assert.deepEqual(result.parts, [1, 2, 3]);
      assert.equal(result.uploads, true);
      assert.equal(result.gone, true);
      // Debian's botocore predates IfNoneMatch on PutObject; a current one sends it.
      assert.equal(result.conditional, client.tls ? 'PreconditionFailed' : null);
      // (Debian's botocore signs CreateMultipartUpload's resource as `?uploads?uploads` under SigV2: its bug, not tried.)
      assert.deepEqual(result.v2, ['v2 body', { m: 'v' }, ['signed-v2'], 'v2 body']);
    });

    test('checksums: stored, returned with ChecksumMode and GetObjectAttributes, a wrong one refused with nothing stored', async () => {
      const result = (await run(`
current = tuple(int(p) for p in boto3.__version__.split('.')[:2]) >= (1, 36)
args = {} if current else {'ChecksumAlgorithm': 'CRC32'}
sent.clear()
put = s3.put_object(Bucket=BUCKET, Key='sums/default.txt', Body=b'checksummed by default', **args)
how = {k.lower(): v for k, v in sent[-1][1].items()}
how = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in how.items() if k.startswith('x-amz-') or k in ('content-encoding',)}
back = s3.get_object(Bucket=BUCKET, Key='sums/default.txt', ChecksumMode='ENABLED')
body = back['Body'].read()
sha = s3.put_object(Bucket=BUCKET, Key='sums/sha256.txt', Body=b'sha256 too', ChecksumAlgorithm='SHA256')
head = s3.head_object(Bucket=BUCKET, Key='sums/sha256.txt', ChecksumMode='ENABLED')
attributes = s3.get_object_attributes(Bucket=BUCKET, Key='sums/sha256.txt', ObjectAttributes=['ETag', 'Checksum', 'ObjectSize', 'StorageClass'])
parts = s3.get_object_attributes(Bucket=BUCKET, Key='big/up.bin', ObjectAttributes=['ObjectParts', 'ObjectSize'])
try:
  s3.put_object(Bucket=BUCKET, Key='sums/wrong.txt', Body=b'abc', ChecksumCRC32='AAAAAA==')
  wrong = 'stored'
except botocore.exceptions.ClientError as e:
  wrong = e.response['Error']['Code']
try:
  s3.head_object(Bucket=BUCKET, Key='sums/wrong.txt'); stored = True
except botocore.exceptions.ClientError: stored = False
print(json.dumps({'current': current, 'how': how, 'putCrc': put.get('ChecksumCRC32'), 'getCrc': back.get('ChecksumCRC32'), 'body': body.decode(),
  'sha': sha.get('ChecksumSHA256'), 'headSha': head.get('ChecksumSHA256'), 'wrong': wrong, 'stored': stored,
  'attributes': [attributes['ETag'] == sha['ETag'].strip('"'), attributes['Checksum'].get('ChecksumSHA256') == sha.get('ChecksumSHA256'), attributes['ObjectSize'], attributes['StorageClass']],
  'parts': [parts['ObjectParts']['TotalPartsCount'], parts['ObjectSize']]}))
`)) as { current: boolean; how: Record<string, string>; putCrc: string; getCrc: string; body: string; sha: string; headSha: string; wrong: string; stored: boolean; attributes: unknown[]; parts: number[] };
      const crc32 = Buffer.alloc(4);
      crc32.writeUInt32BE(zlibCrc32('checksummed by default'));
      assert.equal(result.putCrc, crc32.toString('base64'));
      assert.equal(result.getCrc, crc32.toString('base64'));
      assert.equal(result.body, 'checksummed by default');
      assert.ok(result.sha);
      assert.equal(result.headSha, result.sha);
      assert.equal(result.wrong, 'BadDigest');
      assert.equal(result.stored, false);
      assert.deepEqual(result.attributes, [true, true, 10, 'STANDARD']);
      assert.deepEqual(result.parts, [4, 17 * 1024 * 1024 + 5]);
      if (client.tls) {
        assert.equal(result.current, true, 'the venv holds a boto3 of 2025 or later');
        // The newest SDKs' default: an unsigned aws-chunked body, its CRC32 in a trailer.
        assert.equal(result.how['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
        assert.equal(result.how['x-amz-trailer'], 'x-amz-checksum-crc32');
        assert.match(result.how['content-encoding'] ?? '', /aws-chunked/);
      }
    });
  });
}
