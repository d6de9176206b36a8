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
  let start = 0n;
  for (const part of ipaddr.IPv6.parse(address).parts) start = (start << 16n) | BigInt(part);
  const end = start + (1n << (V6_SIZE - prefix)) - 1n;
  return { family: 6, interval: { start, end } };
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
  const emit = (start: bigint, end: bigint, expiresAt: number) => {
    if (start > end) return;
    const last = out[out.length - 1];
    if (last && last.expiresAt === expiresAt && last.end + 1n === start) {
      out[out.length - 1] = { start: last.start, end, expiresAt };
    } else out.push({ start, end, expiresAt });
  };
  // Open containers, innermost last, each with its effective expiry (max over its ancestors).
  const stack: { end: bigint; expiresAt: number }[] = [];
  let cursor = 0n;
  const close = (upTo: bigint | undefined) => {
    for (let top = stack[stack.length - 1]; top && (upTo === undefined || top.end < upTo); ) {
      emit(cursor, top.end, top.expiresAt);
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
      end: item.end,
      expiresAt: Math.max(item.expiresAt, parent?.expiresAt ?? -Infinity),
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
export function intervalText(interval: AddressInterval, family: IpFamily): string {
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
