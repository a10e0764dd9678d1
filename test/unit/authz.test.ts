/** core/authz.ts: IP allow lists of public buckets (IPv4, IPv6, CIDR, IPv4-mapped IPv6). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAllowList, ipAllowed } from '../../src/core/authz.ts';
import { isOnggiError } from '../../src/core/errors.ts';

describe('ipAllowed', () => {
  const table: [readonly string[], string, boolean][] = [
    [[], '203.0.113.9', true],
    [[], '::1', true],
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.0/8'], '9.255.255.255', false],
    [['192.168.1.7'], '192.168.1.7', true],
    [['192.168.1.7'], '192.168.1.8', false],
    [['192.168.1.7/32'], '192.168.1.7', true],
    [['0.0.0.0/0'], '8.8.8.8', true],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['10.0.0.0/8', '2001:db8::/32'], '2001:db8:1::5', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['::1'], '::1', true],
    [['::1/128'], '::2', false],
    [['fe80::/10'], 'fe80::1234', true],
    // Node reports IPv4 clients on a dual-stack socket as IPv4-mapped IPv6.
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['10.0.0.0/8'], '::ffff:11.1.2.3', false],
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    // an IPv4 list never matches a plain IPv6 client, and vice versa
    [['10.0.0.0/8'], '2001:db8::1', false],
    [['2001:db8::/32'], '10.0.0.1', false],
    // a client address the server could not determine is never allowed by a non-empty list
    [['10.0.0.0/8'], '', false],
    [['10.0.0.0/8'], 'unknown', false],
  ];
  for (const [list, ip, expected] of table) {
    test(`${JSON.stringify(list)} ∋ ${ip || '(empty)'} → ${expected}`, () => {
      assert.equal(ipAllowed(list, ip), expected);
    });
  }
});

describe('checkAllowList', () => {
  const valid = ['10.0.0.0/8', '10.0.0.1', ' 10.0.0.1 ', '0.0.0.0/0', '::1', '::/0', '2001:db8::/32', '::ffff:10.0.0.1', '10.0.0.0/32', '2001:db8::/128'];
  const invalid = ['', 'abc', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/8.5', '10.0.0.0/ 8', '10.0.0.256', '10.0.0', 'example.com', '10.0.0.0/0x8'];
  for (const entry of valid) {
    test(`valid ${JSON.stringify(entry)}`, () => {
      checkAllowList([entry]);
    });
  }
  for (const entry of invalid) {
    test(`invalid ${JSON.stringify(entry)}`, () => {
      assert.throws(
        () => {
          checkAllowList(['10.0.0.1', entry]);
        },
        (err) => isOnggiError(err) && err.code === 'InvalidArgument',
      );
    });
  }
  test('an empty list is valid', () => {
    checkAllowList([]);
  });
});
