/**
 * IP address and CIDR math, on top of ipaddr.js (a real parser: log text is never trusted).
 *
 * Canonical forms used everywhere in cloudjail (store keys, NACL entries, CLI output):
 * - IPv4: dotted quad without leading zeros, `203.0.113.7`;
 * - IPv6: RFC 5952 (lowercase, longest zero run compressed), `2001:db8::7`;
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`) is IPv4;
 * - CIDR: network address + prefix, `203.0.113.0/24`, `2001:db8::/64`; a host is `/32` or `/128`.
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

export interface Cidr {
  readonly family: IpFamily;
  /** Canonical network address (host bits cleared). */
  readonly network: string;
  readonly prefix: number;
  /** `network/prefix`. */
  readonly text: string;
}

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Whether `v6` is in ::ffff:0:0/96 (IPv4-mapped), read from its parts: ipaddr.js's own
 * isIPv4MappedAddress() classifies against its whole table of special ranges, ~100x slower.
 */
function isMapped(v6: ipaddr.IPv6): boolean {
  const p = v6.parts;
  return p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff;
}

function parseStrict(text: string): Parsed | undefined {
  const colon = text.includes(':');
  // ipaddr.js's IPv4 check throws and catches inside: not tried on what cannot be IPv4.
  if (!colon && ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (colon && !text.includes('%') && ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    return isMapped(v6) ? v6.toIPv4Address() : v6;
  }
  return undefined;
}

function canonical(addr: Parsed): string {
  return addr.kind() === 'ipv4' ? addr.toString() : (addr as ipaddr.IPv6).toRFC5952String();
}

const CANONICAL_IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Fast path for the most common host in a log line: a dotted quad already in canonical form
 * (four decimal octets 0-255, no leading zeros). Anything else goes through ipaddr.js. A regex:
 * V8 runs it far faster than a loop over charCodeAt.
 */
export function isCanonicalIpv4(text: string): boolean {
  return CANONICAL_IPV4.test(text);
}

/** Canonical form of a bare IPv4/IPv6 address, or undefined when `text` is not exactly one. */
export function canonicalAddress(text: string): string | undefined {
  if (isCanonicalIpv4(text)) return text;
  const parsed = parseStrict(text);
  return parsed ? canonical(parsed) : undefined;
}

/**
 * Normalizes a host as written in a log: strips `[...]` brackets and a `:port` (only where it is
 * unambiguous: after an IPv4 address or after `]`), maps `::ffff:a.b.c.d` to IPv4 and returns the
 * canonical form. Returns undefined for anything a real IP parser rejects (hostnames, `999.1.1.1`,
 * octets with leading zeros, zone ids). An unbracketed IPv6 address is never treated as having a
 * port: a filter that knows its log writes `v6:port` must cut the port itself.
 */
export function normalizeHost(text: string): string | undefined {
  let host = text.trim();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return undefined;
    const rest = host.slice(close + 1);
    if (rest !== '' && !isPortSuffix(rest)) return undefined;
    host = host.slice(1, close);
  } else if (/^[\d.]+:\d+$/.test(host)) {
    const colon = host.lastIndexOf(':');
    if (!isPortSuffix(host.slice(colon))) return undefined;
    host = host.slice(0, colon);
  }
  return canonicalAddress(host);
}

function isPortSuffix(text: string): boolean {
  return /^:\d{1,5}$/.test(text) && Number(text.slice(1)) <= 65535;
}

export function addressFamily(address: string): IpFamily | undefined {
  const parsed = parseStrict(address);
  if (!parsed) return undefined;
  return parsed.kind() === 'ipv4' ? 4 : 6;
}

/**
 * Bounded memo of a pure function of a string: the same addresses and CIDRs are parsed again and
 * again (every batch, every enforcer run). Cleared when full.
 */
function memo<T>(size: number, fn: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (cache.has(key)) return cache.get(key) as T;
    const value = fn(key);
    if (cache.size >= size) cache.clear();
    cache.set(key, value);
    return value;
  };
}

const parseCidrCached = memo(8192, parseCidrText);

/** Parses `a.b.c.d`, `a.b.c.d/n`, `v6`, `v6/n` (a bare address is a host CIDR). Host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  return parseCidrCached(text);
}

function parseCidrText(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const addr = parseStrict(addrText);
  if (!addr) return undefined;
  const family: IpFamily = addr.kind() === 'ipv4' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    // A mapped IPv6 prefix (::ffff:a.b.c.d/120) becomes the IPv4 prefix it covers.
    if (family === 4 && addrText.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > max) return undefined;
  }
  const network = networkOf(addr, prefix);
  return { family, network, prefix, text: `${network}/${prefix}` };
}

function networkOf(addr: Parsed, prefix: number): string {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const bitsLeft = prefix - i * 8;
    if (bitsLeft >= 8) continue;
    bytes[i] = bitsLeft <= 0 ? 0 : (bytes[i] ?? 0) & (0xff << (8 - bitsLeft));
  }
  return canonical(ipaddr.fromByteArray(bytes) as Parsed);
}

/** The host CIDR of an address: `/32` for IPv4, `/128` for IPv6. */
export function hostCidr(address: string): Cidr | undefined {
  return parseCidr(address);
}

/** The network of `address` with the given prefix length, e.g. (`203.0.113.7`, 24) → `203.0.113.0/24`. */
export function prefixCidr(address: string, prefix: number): Cidr | undefined {
  const addr = parseStrict(address);
  if (!addr) return undefined;
  const family: IpFamily = addr.kind() === 'ipv4' ? 4 : 6;
  if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  const network = networkOf(addr, prefix);
  return { family, network, prefix, text: `${network}/${prefix}` };
}

// Key: `family|prefix|network|address` (no field before the address holds a `|`).
const containsCached = memo(8192, (key: string) => {
  const [family, prefix, network] = key.split('|', 3) as [string, string, string];
  const address = key.slice(family.length + prefix.length + network.length + 3);
  return containsAddress(Number(family), Number(prefix), network, address);
});

/** True when `address` (any accepted form) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  return containsCached(`${cidr.family}|${cidr.prefix}|${cidr.network}|${address}`);
}

function containsAddress(
  family: number,
  prefix: number,
  network: string,
  address: string,
): boolean {
  const addr = parseStrict(address);
  if (!addr || (addr.kind() === 'ipv4' ? 4 : 6) !== family) return false;
  return networkOf(addr, prefix) === network;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    cidrContains(outer, inner.network)
  );
}

/**
 * A set of CIDRs with a membership test, for allowlists (`ignoreip`). Invalid entries are reported
 * by {@link CidrSet.parse}, never silently dropped.
 */
const parsedSets = new Map<string, { set: CidrSet; invalid: string[] }>();

export class CidrSet {
  readonly cidrs: readonly Cidr[];

  constructor(cidrs: readonly Cidr[]) {
    this.cidrs = cidrs;
  }

  /**
   * Parses entries; returns the set and the entries that are not addresses or CIDRs. The detector
   * parses the same allowlists for every batch: the last few lists parsed are kept.
   */
  static parse(entries: Iterable<string>): { set: CidrSet; invalid: string[] } {
    const list = [...entries];
    const key = list.join('\u0000');
    const known = parsedSets.get(key);
    if (known) return { set: known.set, invalid: [...known.invalid] };
    const parsed = CidrSet.parseAll(list);
    if (parsedSets.size >= 64) parsedSets.clear();
    parsedSets.set(key, parsed);
    return { set: parsed.set, invalid: [...parsed.invalid] };
  }

  private static parseAll(entries: readonly string[]): { set: CidrSet; invalid: string[] } {
    const cidrs: Cidr[] = [];
    const invalid: string[] = [];
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (cidr) cidrs.push(cidr);
      else invalid.push(entry);
    }
    return { set: new CidrSet(cidrs), invalid };
  }

  /** The first CIDR containing `address`, if any. */
  match(address: string): Cidr | undefined {
    return this.cidrs.find((c) => cidrContains(c, address));
  }

  has(address: string): boolean {
    return this.match(address) !== undefined;
  }
}
