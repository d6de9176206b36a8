import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  CidrSet,
  canonicalAddress,
  cidrContains,
  cidrCovers,
  normalizeHost,
  parseCidr,
  prefixCidr,
} from '../../../lambda/core/ip-address.js';

const v4 = fc.ipV4();
const v6 = fc.ipV6();

describe('normalizeHost', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:5060', '203.0.113.7'],
    ['[203.0.113.7]', '203.0.113.7'],
    ['[2001:DB8:0:0::7]:5060', '2001:db8::7'],
    ['2001:0db8:0000:0000:0000:0000:0000:0007', '2001:db8::7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['[::ffff:203.0.113.7]:5061', '203.0.113.7'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });

  it.each([
    '999.1.1.1',
    '010.1.1.1',
    '1.2.3',
    'sip.example.com',
    '',
    '[2001:db8::1',
    '[2001:db8::1]:x',
    'fe80::1%eth0',
    '1.2.3.4:99999',
  ])('rejects %j', (input) => {
    expect(normalizeHost(input)).toBeUndefined();
  });

  it('never treats the tail of an unbracketed IPv6 address as a port', () => {
    expect(normalizeHost('2001:db8::9:5060')).toBe('2001:db8::9:5060');
  });

  it('is idempotent and agrees with the canonical form for any IPv4/IPv6 address', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), (ip) => {
        const once = normalizeHost(ip);
        expect(once).toBeDefined();
        expect(normalizeHost(once!)).toBe(once);
        expect(canonicalAddress(once!)).toBe(once);
      }),
    );
  });

  it('strips brackets and ports without changing the address', () => {
    fc.assert(
      fc.property(v4, v6, fc.integer({ min: 0, max: 65535 }), (a4, a6, port) => {
        expect(normalizeHost(`${a4}:${port}`)).toBe(normalizeHost(a4));
        expect(normalizeHost(`[${a6}]:${port}`)).toBe(normalizeHost(a6));
        expect(normalizeHost(`[${a6}]`)).toBe(normalizeHost(a6));
      }),
    );
  });

  it('maps every IPv4-mapped IPv6 address to its IPv4 address', () => {
    fc.assert(
      fc.property(v4, (a4) => {
        expect(normalizeHost(`::ffff:${a4}`)).toBe(normalizeHost(a4));
      }),
    );
  });

  it('agrees with ipaddr.js on any address text (its own classification as the reference)', () => {
    // Addresses and near-addresses: mapped, leading zeros, out-of-range octets.
    const mapped = v4.map((a) => `::ffff:${a}`);
    const near = fc
      .array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 })
      .chain((o) =>
        fc.constantFrom(o.join('.'), o.map((x) => String(x).padStart(3, '0')).join('.')),
      );
    fc.assert(
      fc.property(fc.oneof(v4, v6, mapped, near), (text) => {
        let expected: string | undefined;
        if (!text.includes(':') && ipaddr.IPv4.isValidFourPartDecimal(text)) {
          expected = ipaddr.IPv4.parse(text).toString();
        } else if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
          const a = ipaddr.IPv6.parse(text);
          expected = a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : a.toRFC5952String();
        }
        // Leading-zero octets are not addresses for us (ipaddr.js reads them as decimal).
        if (/(^|\.)0\d/.test(text) && !text.includes(':')) expected = undefined;
        expect(canonicalAddress(text)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('produces lowercase RFC 5952 text for IPv6', () => {
    fc.assert(
      fc.property(v6, (a6) => {
        const out = normalizeHost(a6.toUpperCase())!;
        expect(out).toBe(out.toLowerCase());
        expect(out).not.toMatch(/(^|:)0[0-9a-f]/); // no leading zeros in a group
        expect(out.split('::').length).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe('CIDR math', () => {
  it('clears host bits and canonicalizes', () => {
    expect(parseCidr('203.0.113.77/24')?.text).toBe('203.0.113.0/24');
    expect(parseCidr('2001:DB8::1/64')?.text).toBe('2001:db8::/64');
    expect(parseCidr('203.0.113.7')?.text).toBe('203.0.113.7/32');
    expect(parseCidr('::ffff:203.0.113.0/120')?.text).toBe('203.0.113.0/24');
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', 'x/8', '10.0.0.0/8/8'])(
    'rejects %j',
    (t) => {
      expect(parseCidr(t)).toBeUndefined();
    },
  );

  it('contains exactly the addresses sharing the prefix', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), (a, p) => {
        const net = prefixCidr(a, p)!;
        expect(cidrContains(net, a)).toBe(true);
        expect(cidrCovers(parseCidr('0.0.0.0/0')!, net)).toBe(true);
      }),
    );
    expect(cidrContains(parseCidr('10.0.0.0/8')!, '11.0.0.1')).toBe(false);
    expect(cidrContains(parseCidr('10.0.0.0/8')!, '2001:db8::1')).toBe(false);
  });

  it('CidrSet reports invalid entries instead of dropping them', () => {
    const { set, invalid } = CidrSet.parse([
      '127.0.0.1/8',
      '::1',
      'carrier.example',
      '198.51.100.0/24',
    ]);
    expect(invalid).toEqual(['carrier.example']);
    expect(set.has('127.9.9.9')).toBe(true);
    expect(set.has('::1')).toBe(true);
    expect(set.match('198.51.100.200')?.text).toBe('198.51.100.0/24');
    expect(set.has('203.0.113.1')).toBe(false);
  });
});
