/**
 * Validation of a downloaded ban list (lambda/core/ban-list/schema.ts): the agent applies nothing
 * it has not checked. Pure: text or a parsed value in, a typed BanList or a BanListError out. Every
 * error names the field (`groups[3].bans[17][0]`) and what is wrong with it.
 */
import {
  type AllowlistEntry,
  BAN_LIST_SCHEMA,
  BAN_LIST_SCHEMA_VERSION,
  type BanList,
  type BanListGroup,
  type PublishedBan,
} from '../lambda/core/ban-list/schema.js';
import type { DenySpec, IpProtocol, PortRange } from '../lambda/core/deny-spec.js';
import { CloudjailError } from '../lambda/core/errors.js';
import { isCanonicalIpv4, parseCidr } from '../lambda/core/ip-address.js';

/** A ban list the agent refuses to apply. */
export class BanListError extends CloudjailError {}

function fail(path: string, problem: string): never {
  throw new BanListError(`ban list: ${path}: ${problem}`);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(path, `expected an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`);
  return value;
}

function safeInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    fail(path, `expected a non-negative integer, got ${describe(value)}`);
  return value;
}

function jailNames(value: unknown, path: string): readonly string[] {
  const names = array(value, path);
  if (names.length === 0) fail(path, 'expected at least one jail');
  names.forEach((n, i) => {
    if (typeof n !== 'string' || n === '')
      fail(`${path}[${i}]`, `expected a jail name, got ${describe(n)}`);
  });
  return names as readonly string[];
}

const HEX_GROUPS = /^[0-9a-f:]+$/;

/**
 * RFC 5952 text of an IPv6 address given as hex groups without `.`, or undefined when it is not
 * one: the fast path of validation (a million IPv6 host bans), ipaddr.js checks everything else.
 */
function canonicalIpv6(address: string): string | undefined {
  if (!HEX_GROUPS.test(address)) return undefined;
  const gap = address.indexOf('::');
  if (gap >= 0 && address.indexOf('::', gap + 1) >= 0) return undefined;
  const head =
    gap < 0
      ? address.split(':')
      : address.slice(0, gap) === ''
        ? []
        : address.slice(0, gap).split(':');
  const tail =
    gap < 0 ? [] : address.slice(gap + 2) === '' ? [] : address.slice(gap + 2).split(':');
  const missing = 8 - head.length - tail.length;
  if (gap < 0 ? missing !== 0 : missing < 1) return undefined;
  const groups: number[] = [];
  for (const g of [...head, ...Array<string>(gap < 0 ? 0 : missing).fill('0'), ...tail]) {
    if (g.length === 0 || g.length > 4) return undefined;
    groups.push(Number.parseInt(g, 16));
  }
  // Longest run of two or more zero groups (the first on a tie) becomes `::`.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** A CIDR exactly in its canonical form (`203.0.113.0/24`, `2001:db8::/64`). */
export function canonicalCidr(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `expected a CIDR string, got ${describe(value)}`);
  // Fast paths for the common host bans: a canonical dotted quad /32, a canonical IPv6 /128.
  if (value.endsWith('/32') && isCanonicalIpv4(value.slice(0, -3))) return value;
  if (value.endsWith('/128')) {
    const address = value.slice(0, -4);
    const canonical = canonicalIpv6(address);
    // ::ffff:a.b.c.d and other IPv4 forms never take this path (no `.`); a mapped address in hex
    // (::ffff:c000:201) is IPv4 in cloudjail's canonical forms: ipaddr.js decides below.
    if (canonical === address && !address.startsWith('::ffff:')) return value;
  }
  const parsed = parseCidr(value);
  if (!parsed || !value.includes('/')) fail(path, `${describe(value)} is not a CIDR`);
  if (parsed.text !== value)
    fail(path, `${describe(value)} is not in canonical form (expected ${parsed.text})`);
  return value;
}

function portRange(value: unknown, path: string): PortRange {
  const o = object(value, path);
  const from = o.from;
  const to = o.to;
  const isPort = (p: unknown): p is number =>
    typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!isPort(from)) fail(`${path}.from`, `expected a port 1-65535, got ${describe(from)}`);
  if (!isPort(to)) fail(`${path}.to`, `expected a port 1-65535, got ${describe(to)}`);
  if (from > to) fail(path, `from ${from} is greater than to ${to}`);
  return { from, to };
}

function denySpec(value: unknown, path: string): DenySpec {
  const o = object(value, path);
  if (o.kind === 'all') return { kind: 'all' };
  if (o.kind !== 'ports')
    fail(`${path}.kind`, `expected "all" or "ports", got ${describe(o.kind)}`);
  const ports = array(o.ports, `${path}.ports`).map((p, i) => portRange(p, `${path}.ports[${i}]`));
  if (ports.length === 0) fail(`${path}.ports`, 'expected at least one port range');
  const protocols = array(o.protocols, `${path}.protocols`);
  if (protocols.length === 0) fail(`${path}.protocols`, 'expected at least one protocol');
  protocols.forEach((p, i) => {
    if (p !== 'tcp' && p !== 'udp')
      fail(`${path}.protocols[${i}]`, `expected "tcp" or "udp", got ${describe(p)}`);
  });
  return { kind: 'ports', ports, protocols: [...new Set(protocols as IpProtocol[])] };
}

function ban(value: unknown, path: string): PublishedBan {
  if (!Array.isArray(value) || value.length !== 2)
    fail(path, `expected [cidr, expiresAt], got ${describe(value)}`);
  canonicalCidr(value[0], `${path}[0]`);
  if (value[1] !== null) safeInteger(value[1], `${path}[1]`);
  // The checked tuple itself: no copy of a million pairs.
  return value as unknown as PublishedBan;
}

function group(value: unknown, path: string): BanListGroup {
  const o = object(value, path);
  const jails = jailNames(o.jails, `${path}.jails`);
  const deny = denySpec(o.deny, `${path}.deny`);
  if (o.verdict !== 'drop' && o.verdict !== 'reject')
    fail(`${path}.verdict`, `expected "drop" or "reject", got ${describe(o.verdict)}`);
  const bans = array(o.bans, `${path}.bans`);
  for (let i = 0; i < bans.length; i++) ban(bans[i], `${path}.bans[${i}]`);
  return { jails, deny, verdict: o.verdict, bans: bans as readonly PublishedBan[] };
}

function allowlistEntry(value: unknown, path: string): AllowlistEntry {
  const o = object(value, path);
  const cidr = canonicalCidr(o.cidr, `${path}.cidr`);
  const jails = o.jails === null ? null : jailNames(o.jails, `${path}.jails`);
  return { cidr, jails };
}

/** Checks a parsed ban list document and returns it typed. */
export function validateBanList(value: unknown): BanList {
  const o = object(value, '(document)');
  if (o.schema !== BAN_LIST_SCHEMA)
    fail('schema', `expected ${JSON.stringify(BAN_LIST_SCHEMA)}, got ${describe(o.schema)}`);
  if (o.schemaVersion !== BAN_LIST_SCHEMA_VERSION) {
    const newer = typeof o.schemaVersion === 'number' && o.schemaVersion > BAN_LIST_SCHEMA_VERSION;
    fail(
      'schemaVersion',
      `unsupported version ${describe(o.schemaVersion)} (this agent reads ${BAN_LIST_SCHEMA_VERSION}${newer ? ': upgrade the agent' : ''})`,
    );
  }
  const serial = safeInteger(o.serial, 'serial');
  const generatedAt = safeInteger(o.generatedAt, 'generatedAt');
  const allowlist = array(o.allowlist, 'allowlist').map((e, i) =>
    allowlistEntry(e, `allowlist[${i}]`),
  );
  const groups = array(o.groups, 'groups').map((g, i) => group(g, `groups[${i}]`));
  return {
    schema: BAN_LIST_SCHEMA,
    schemaVersion: BAN_LIST_SCHEMA_VERSION,
    serial,
    generatedAt,
    allowlist,
    groups,
  };
}

/** Parses the (already decompressed) JSON text of a ban list and validates it. */
export function parseBanList(text: string): BanList {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BanListError(`ban list: not valid JSON (${(e as Error).message})`);
  }
  return validateBanList(value);
}
