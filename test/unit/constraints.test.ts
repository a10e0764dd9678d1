/** core/constraints.ts: bucket names, object keys, metadata and listing limits. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkListingLimit, checkObjectKey, checkUserMetadata, KAKAOCLOUD_NAMES, LISTING_LIMIT, SWIFT_NAMES } from '../../src/core/constraints.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { codeOf } from '../helpers/errors.ts';

describe('bucket names, kakaocloud profile', () => {
  const table: [string, ErrorCode | 'ok'][] = [
    ['abcd', 'ok'],
    ['my-bucket-01', 'ok'],
    ['0123', 'ok'],
    ['a'.repeat(63), 'ok'],
    ['a'.repeat(64), 'InvalidBucketName'],
    ['abc', 'InvalidBucketName'],
    ['', 'InvalidBucketName'],
    ['Abcd', 'InvalidBucketName'],
    ['-abc', 'InvalidBucketName'],
    ['abc-', 'InvalidBucketName'],
    ['ab_cd', 'InvalidBucketName'],
    ['ab.cd', 'InvalidBucketName'],
    ['ab cd', 'InvalidBucketName'],
    ['abcd\n', 'InvalidBucketName'],
    ['버킷이름', 'InvalidBucketName'],
    ['v1_ext', 'InvalidBucketName'],
    ['info', 'InvalidBucketName'],
    ['ping', 'InvalidBucketName'],
    ['swagger', 'InvalidBucketName'],
    ['status', 'InvalidBucketName'],
    ['my-bucket_segments', 'ok'],
    [`${'a'.repeat(63)}_segments`, 'ok'],
    ['abc_segments', 'InvalidBucketName'],
    ['_segments', 'InvalidBucketName'],
    ['info_segments', 'InvalidBucketName'],
    ['my-bucket_segments_segments', 'InvalidBucketName'],
  ];
  for (const [name, expected] of table) {
    test(JSON.stringify(name), () => {
      assert.equal(
        codeOf(() => {
          KAKAOCLOUD_NAMES.checkBucketName(name);
        }),
        expected,
      );
    });
  }
});

describe('bucket names, swift profile', () => {
  const table: [string, ErrorCode | 'ok'][] = [
    ['photos', 'ok'],
    ['My Photos_2024', 'ok'],
    ['사진', 'ok'],
    ['a', 'ok'],
    ['😀 emoji', 'ok'],
    ['x'.repeat(256), 'ok'],
    ['x'.repeat(257), 'InvalidBucketName'],
    ['가'.repeat(86), 'InvalidBucketName'],
    ['', 'InvalidBucketName'],
    ['a/b', 'InvalidBucketName'],
    ['nul\0', 'InvalidBucketName'],
    ['line\nbreak', 'InvalidBucketName'],
    ['soh\u0001', 'InvalidBucketName'],
    ['\ud800', 'InvalidBucketName'],
  ];
  for (const [name, expected] of table) {
    test(JSON.stringify(name), () => {
      assert.equal(
        codeOf(() => {
          SWIFT_NAMES.checkBucketName(name);
        }),
        expected,
      );
    });
  }
  test('object names up to 1024 bytes', () => {
    assert.equal(codeOf(() => { checkObjectKey('k'.repeat(1024), SWIFT_NAMES); }), 'ok');
    assert.equal(codeOf(() => { checkObjectKey('k'.repeat(1025), SWIFT_NAMES); }), 'InvalidObjectName');
    assert.equal(codeOf(() => { checkObjectKey('k'.repeat(433)); }), 'InvalidObjectName');
  });
});

describe('checkObjectKey', () => {
  const table: [string, string, ErrorCode | 'ok'][] = [
    ['simple', 'a.txt', 'ok'],
    ['nested', 'a/b/c.txt', 'ok'],
    ['trailing slash', 'dir/', 'ok'],
    ['leading slash', '/x', 'ok'],
    ['double slash', 'a//b', 'ok'],
    ['unicode', '한국어/파일 😀.txt', 'ok'],
    ['dots inside names', 'a..b/.hidden/x.', 'ok'],
    ['432 bytes', 'a'.repeat(432), 'ok'],
    ['432 bytes of 3-byte chars', '가'.repeat(144), 'ok'],
    ['433 bytes', 'a'.repeat(433), 'InvalidObjectName'],
    ['433 bytes via multibyte', '가'.repeat(144) + 'a', 'InvalidObjectName'],
    ['empty', '', 'InvalidObjectName'],
    ['NUL', 'a\0b', 'InvalidObjectName'],
    ['lone high surrogate', 'a\ud800b', 'InvalidObjectName'],
    ['lone low surrogate', 'a\udc00', 'InvalidObjectName'],
    ['reversed pair', '\udc00\ud800', 'InvalidObjectName'],
    ['dot segment', 'a/./b', 'InvalidObjectName'],
    ['dot-dot segment', 'a/../b', 'InvalidObjectName'],
    ['only dot-dot', '..', 'InvalidObjectName'],
    ['trailing dot-dot', 'a/..', 'InvalidObjectName'],
  ];
  for (const [name, key, expected] of table) {
    test(name, () => {
      assert.equal(
        codeOf(() => {
          checkObjectKey(key);
        }),
        expected,
      );
    });
  }
});

describe('checkUserMetadata', () => {
  const many = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
  const table: [string, Record<string, string>, ErrorCode | 'ok'][] = [
    ['empty', {}, 'ok'],
    ['simple', { color: 'red' }, 'ok'],
    ['90 items', many(90), 'ok'],
    ['91 items', many(91), 'MetadataTooLarge'],
    ['name of 128', { ['n'.repeat(128)]: 'v' }, 'ok'],
    ['name of 129', { ['n'.repeat(129)]: 'v' }, 'MetadataTooLarge'],
    ['value of 256', { n: 'v'.repeat(256) }, 'ok'],
    ['value of 257', { n: 'v'.repeat(257) }, 'MetadataTooLarge'],
    ['empty name', { '': 'v' }, 'InvalidArgument'],
    ['empty value', { n: '' }, 'ok'],
    [
      '4096 bytes overall',
      Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(253)])),
      'ok',
    ],
    [
      '4097 bytes overall',
      { ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(253)])), x: '' },
      'MetadataTooLarge',
    ],
  ];
  for (const [name, meta, expected] of table) {
    test(name, () => {
      assert.equal(
        codeOf(() => {
          checkUserMetadata(meta);
        }),
        expected,
      );
    });
  }
});

test('checkListingLimit', () => {
  assert.equal(
    codeOf(() => {
      checkListingLimit(LISTING_LIMIT);
    }),
    'ok',
  );
  assert.equal(
    codeOf(() => {
      checkListingLimit(LISTING_LIMIT + 1);
    }),
    'ListingLimitExceeded',
  );
});
