/**
 * The HTTP ceiling: a bare node:http server answering the bench's requests without storing anything.
 * PUT drains the body and remembers the size; GET streams that many bytes from memory; listings are canned; POST
 * (an S3 multipart upload's Create and Complete) drains the body and answers an upload ID.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const CHUNK = Buffer.alloc(64 * 1024, 7);
const sizes = new Map<string, number>();
const uploadCreated = '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><UploadId>bare</UploadId></InitiateMultipartUploadResult>';
const listing = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ name: `dir${String(i).padStart(4, '0')}/file000000`, hash: 'd41d8cd98f00b204e9800998ecf8427e', bytes: 0, content_type: 'application/octet-stream', last_modified: '2026-01-01T00:00:00.000000' })));

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  if (req.method === 'POST') {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(uploadCreated) }).end(uploadCreated));
    return;
  }
  if (req.method === 'PUT') {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      sizes.set(path, size);
      res.writeHead(201, { 'Content-Length': 0, ETag: '"d41d8cd98f00b204e9800998ecf8427e"' }).end();
    });
    return;
  }
  if (path.includes('?')) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(listing) }).end(listing);
    return;
  }
  const size = sizes.get(path);
  if (size === undefined) {
    res.writeHead(404, { 'Content-Length': 0 }).end();
    return;
  }
  if (req.method === 'DELETE') {
    sizes.delete(path);
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, { 'Content-Length': size, ETag: '"d41d8cd98f00b204e9800998ecf8427e"', 'Content-Type': 'application/octet-stream' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let left = size;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
