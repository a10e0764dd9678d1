/** frontends/swift/router.ts: routeSwift and splitPath from tables of raw requests. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, routeSwift, splitPath, type SwiftRoute } from '../../src/frontends/swift/router.ts';

describe('splitPath', () => {
  const table: [string, ReturnType<typeof splitPath>][] = [
    ['/v1/acc', { account: 'acc', container: null, object: null }],
    ['/v1/acc/', { account: 'acc', container: null, object: null }],
    ['/v1/acc/cont', { account: 'acc', container: 'cont', object: null }],
    ['/v1/acc/cont/', { account: 'acc', container: 'cont', object: null }],
    ['/v1/acc/cont/obj', { account: 'acc', container: 'cont', object: 'obj' }],
    ['/v1/acc/cont/a/b/c', { account: 'acc', container: 'cont', object: 'a/b/c' }],
    ['/v1/acc/cont/dir/', { account: 'acc', container: 'cont', object: 'dir/' }],
    ['/v1/acc/cont//lead', { account: 'acc', container: 'cont', object: '/lead' }],
    ['/v1/acc/cont/a//b', { account: 'acc', container: 'cont', object: 'a//b' }],
    ['/v1/acc/cont/a%2Fb', { account: 'acc', container: 'cont', object: 'a/b' }],
    ['/v1/acc/cont/a%2fb%2F', { account: 'acc', container: 'cont', object: 'a/b/' }],
    ['/v1/acc/cont/%2F', { account: 'acc', container: 'cont', object: '/' }],
    ['/v1/acc/cont/%ED%95%9C%20x%2B', { account: 'acc', container: 'cont', object: '한 x+' }],
    ['/v1/acc/cont/a+b', { account: 'acc', container: 'cont', object: 'a+b' }],
    ['/v1/acc/cont/%25', { account: 'acc', container: 'cont', object: '%' }],
    ['/v1/AUTH_x%20y', { account: 'AUTH_x y', container: null, object: null }],
    // A % that starts no escape stays as it is, as Python's unquote leaves it (Swift)
    ['/v1/acc/cont/%', { account: 'acc', container: 'cont', object: '%' }],
    ['/v1/acc/cont/%zz', { account: 'acc', container: 'cont', object: '%zz' }],
    // NUL and invalid UTF-8 reject the whole path
    ['/v1/acc/cont/a%00b', null],
    ['/v1/acc/c%00/x', null],
    ['/v1/a%00', null],
    ['/v1/acc/cont/%E0%A4%A', null],
    ['/v1/acc/cont/%FF', null],
    ['/v1/acc/cont/%C0%AF', null],
    ['/v1/acc/cont/%ED%A0%80', null],
  ];
  for (const [path, expected] of table) {
    test(path, () => {
      assert.deepEqual(splitPath(path), expected);
    });
  }

  test('decode', () => {
    assert.equal(decode('a%20b'), 'a b');
    assert.equal(decode('%'), '%');
    assert.equal(decode('100%-%e2%82%ac'), '100%-€');
    assert.equal(decode('한%20x'), '한 x');
    assert.equal(decode('%ff'), undefined);
    assert.equal(decode('%00'), undefined);
    assert.equal(decode('%F0%9F%98%80'), '😀');
  });
});

describe('routeSwift', () => {
  const table: [string, string, Record<string, string>, SwiftRoute][] = [
    ['GET', '/v1/acc', {}, { op: 'ListContainers', account: 'acc' }],
    ['HEAD', '/v1/acc', {}, { op: 'HeadAccount', account: 'acc' }],
    ['POST', '/v1/acc/', {}, { op: 'PostAccount', account: 'acc' }],
    ['PUT', '/v1/acc', {}, { op: 'MethodNotAllowed' }],
    ['DELETE', '/v1/acc', {}, { op: 'DeleteAccount', account: 'acc' }],
    ['PUT', '/v1/acc/c', {}, { op: 'PutContainer', account: 'acc', container: 'c' }],
    ['GET', '/v1/acc/c', {}, { op: 'ListObjects', account: 'acc', container: 'c' }],
    ['HEAD', '/v1/acc/c/', {}, { op: 'HeadContainer', account: 'acc', container: 'c' }],
    ['POST', '/v1/acc/c', {}, { op: 'PostContainer', account: 'acc', container: 'c' }],
    ['DELETE', '/v1/acc/c', {}, { op: 'DeleteContainer', account: 'acc', container: 'c' }],
    ['COPY', '/v1/acc/c', {}, { op: 'MethodNotAllowed' }],
    ['PATCH', '/v1/acc/c', {}, { op: 'MethodNotAllowed' }],
    ['PUT', '/v1/acc/c/o', {}, { op: 'PutObject', account: 'acc', container: 'c', object: 'o' }],
    ['GET', '/v1/acc/c/o%2Fp', {}, { op: 'GetObject', account: 'acc', container: 'c', object: 'o/p' }],
    ['HEAD', '/v1/acc/c/o', {}, { op: 'HeadObject', account: 'acc', container: 'c', object: 'o' }],
    ['POST', '/v1/acc/c/o', {}, { op: 'PostObject', account: 'acc', container: 'c', object: 'o' }],
    ['DELETE', '/v1/acc/c/o/', {}, { op: 'DeleteObject', account: 'acc', container: 'c', object: 'o/' }],
    ['OPTIONS', '/v1/acc/c/o', {}, { op: 'MethodNotAllowed' }],
    ['COPY', '/v1/acc/c/o', { destination: 'd/x' }, { op: 'CopyObject', account: 'acc', container: 'c', object: 'o', via: 'COPY' }],
    ['PUT', '/v1/acc/c/o', { 'x-copy-from': 'd/x' }, { op: 'CopyObject', account: 'acc', container: 'c', object: 'o', via: 'X-Copy-From' }],
    ['PUT', '/v1/acc/c/o', { 'x-copy-from': '' }, { op: 'CopyObject', account: 'acc', container: 'c', object: 'o', via: 'X-Copy-From' }],
    ['GET', '/v1/acc/c/o', { 'x-copy-from': 'd/x' }, { op: 'GetObject', account: 'acc', container: 'c', object: 'o' }],
    ['POST', '/v1/acc/c/o', { 'x-copy-from': 'd/x' }, { op: 'PostObject', account: 'acc', container: 'c', object: 'o' }],
    // an empty object part is the container itself
    ['PUT', '/v1/acc/c/', { 'x-copy-from': 'd/x' }, { op: 'PutContainer', account: 'acc', container: 'c' }],
    ['BAD', '/v1/acc/c/o', {}, { op: 'MethodNotAllowed' }],
    // KakaoCloud's multipart verbs
    ['POST', '/v1/acc/c/o?uploads', {}, { op: 'InitiateUpload', account: 'acc', container: 'c', object: 'o' }],
    ['PUT', '/v1/acc/c/o?uploadId=u&partNumber=1', {}, { op: 'UploadPart', account: 'acc', container: 'c', object: 'o' }],
    ['PUT', '/v1/acc/c/o?uploadId=u&partNumber=1', { 'x-copy-from': 'd/x' }, { op: 'UploadPart', account: 'acc', container: 'c', object: 'o' }],
    ['GET', '/v1/acc/c/o?uploadId=u', {}, { op: 'ListParts', account: 'acc', container: 'c', object: 'o' }],
    ['DELETE', '/v1/acc/c/o?uploadId=u', {}, { op: 'AbortUpload', account: 'acc', container: 'c', object: 'o' }],
    ['POST', '/v1/acc/c/o?uploadId=u', {}, { op: 'CompleteUpload', account: 'acc', container: 'c', object: 'o' }],
    ['GET', '/v1/acc/c?uploads', {}, { op: 'ListUploads', account: 'acc', container: 'c' }],
    ['HEAD', '/v1/acc/c/o?uploadId=u', {}, { op: 'HeadObject', account: 'acc', container: 'c', object: 'o' }],
    ['PUT', '/v1/acc/c/o?uploads', {}, { op: 'PutObject', account: 'acc', container: 'c', object: 'o' }],
    ['POST', '/v1/acc/c?uploads', {}, { op: 'PostContainer', account: 'acc', container: 'c' }],
    ['PUT', '/v1/acc/c/o?extract-archive=tar', {}, { op: 'ExtractArchive', account: 'acc', base: 'c/o' }],
    ['GET', '/v1/', {}, { op: 'BadPath', message: 'Bad URL' }],
    ['GET', '/v1//c/o', {}, { op: 'BadPath', message: 'Bad URL' }],
    ['GET', '/v1/acc/c/a%00', {}, { op: 'BadPath', message: 'Invalid UTF8 or contains NULL' }],
    ['PUT', '/v1/acc/c/%E0%A4%A', {}, { op: 'BadPath', message: 'Invalid UTF8 or contains NULL' }],
  ];
  for (const [method, path, headers, expected] of table) {
    test(`${method} ${path} ${JSON.stringify(headers)}`, () => {
      assert.deepEqual(routeSwift(method, path, headers), expected);
    });
  }
});
