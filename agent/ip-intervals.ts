/**
 * Address intervals for nftables interval sets. An interval set refuses overlapping elements, and
 * the same source may be banned as a host and inside a wider range, or twice with different
 * expiries: planning turns every family's CIDRs into disjoint segments whose expiry is, at every
 * address, the latest expiry of any CIDR covering it (the upper envelope). Adjacent segments with the
 * same expiry are merged. Pure.
 */
import ipaddr from 'ipaddr.js';
import type { IpFamily } from '../lambda/core/ip-address.js';

export interface AddressInterval {
  readonly start: bigint;
  readonly end: bigint;
}

/** An interval with an expiry (epoch ms; Infinity = permanent). */
export interface TimedInterval extends AddressInterval {
  readonly expiresAt: number;
  /** The CIDR text when the interval is exactly one input CIDR (reused as the nft element). */
  readonly cidr?: string;
}

const V4_SIZE = 32n;
const V6_SIZE = 128n;

/** The family and address interval of a canonical CIDR (`a.b.c.d/n`, `v6/n`). */
export function cidrInterval(cidr: string): { family: IpFamily; interval: AddressInterval } {
  const slash = cidr.indexOf('/');
  const address = cidr.slice(0, slash);
  const prefix = BigInt(cidr.slice(slash + 1));
  if (!address.includes(':')) {
    const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
    const start = BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
    const end = start + (1n << (V4_SIZE - prefix)) - 1n;
    return { family: 4, interval: { start, end } };
  }
  const start = ipv6Value(address);
  const end = start + (1n << (V6_SIZE - prefix)) - 1n;
  return { family: 6, interval: { start, end } };
}

/** The 128-bit value of a canonical IPv6 address (hex groups, at most one `::`, no IPv4 tail). */
function ipv6Value(address: string): bigint {
  if (address.includes('.')) {
    let v = 0n;
    for (const part of ipaddr.IPv6.parse(address).parts) v = (v << 16n) | BigInt(part);
    return v;
  }
  const gap = address.indexOf('::');
  const head = gap < 0 ? address : address.slice(0, gap);
  const tail = gap < 0 ? '' : address.slice(gap + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  let hex = '';
  for (const p of headParts) hex += p.padStart(4, '0');
  hex += '0000'.repeat(8 - headParts.length - tailParts.length);
  for (const p of tailParts) hex += p.padStart(4, '0');
  return BigInt(`0x${hex}`);
}

/**
 * The upper envelope of intervals that are each a CIDR (so any two are nested or disjoint):
 * sorted, disjoint segments, each with the latest expiry covering it; equal neighbours merged.
 */
export function envelope(items: readonly TimedInterval[]): TimedInterval[] {
  const sorted = [...items].sort((x, y) =>
    x.start < y.start ? -1 : x.start > y.start ? 1 : x.end > y.end ? -1 : x.end < y.end ? 1 : 0,
  );
  const out: TimedInterval[] = [];
  const emit = (start: bigint, end: bigint, expiresAt: number, whole?: Open) => {
    if (start > end) return;
    const last = out[out.length - 1];
    if (last && last.expiresAt === expiresAt && last.end + 1n === start) {
      out[out.length - 1] = { start: last.start, end, expiresAt };
    } else if (whole?.cidr !== undefined && whole.start === start && whole.end === end) {
      out.push({ start, end, expiresAt, cidr: whole.cidr });
    } else out.push({ start, end, expiresAt });
  };
  // Open containers, innermost last, each with its effective expiry (max over its ancestors).
  type Open = { start: bigint; end: bigint; expiresAt: number; cidr: string | undefined };
  const stack: Open[] = [];
  let cursor = 0n;
  const close = (upTo: bigint | undefined) => {
    for (let top = stack[stack.length - 1]; top && (upTo === undefined || top.end < upTo); ) {
      emit(cursor, top.end, top.expiresAt, top);
      if (top.end + 1n > cursor) cursor = top.end + 1n;
      stack.pop();
      top = stack[stack.length - 1];
    }
  };
  for (const item of sorted) {
    close(item.start);
    const parent = stack[stack.length - 1];
    if (parent) emit(cursor, item.start - 1n, parent.expiresAt);
    cursor = item.start;
    stack.push({
      start: item.start,
      end: item.end,
      expiresAt: Math.max(item.expiresAt, parent?.expiresAt ?? -Infinity),
      cidr: item.cidr,
    });
  }
  close(undefined);
  return out;
}

function addressText(value: bigint, family: IpFamily): string {
  if (family === 4) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let shift = 120n; shift >= 0n; shift -= 8n) bytes.push(Number((value >> shift) & 255n));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** nft element text of a segment: a prefix when it is one CIDR, else `first-last`. */
export function intervalText(interval: TimedInterval | AddressInterval, family: IpFamily): string {
  if ('cidr' in interval && interval.cidr !== undefined) return interval.cidr;
  const size = interval.end - interval.start + 1n;
  const bits = family === 4 ? V4_SIZE : V6_SIZE;
  if ((size & (size - 1n)) === 0n && interval.start % size === 0n) {
    let log = 0n;
    while (1n << log < size) log++;
    const prefix = bits - log;
    const first = addressText(interval.start, family);
    return prefix === bits ? first : `${first}/${prefix}`;
  }
  return `${addressText(interval.start, family)}-${addressText(interval.end, family)}`;
}
