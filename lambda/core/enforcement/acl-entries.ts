/**
 * NACL entries as the planner sees them (structurally the NetworkAclPort's NaclEntry), with the
 * helpers every planning step shares: identity of an entry, its family, the default denies, and
 * applying a mutation to a list of entries (to predict the state after a run).
 */
import type { PortRange } from '../deny-spec.js';
import type { IpFamily } from '../ip-address.js';

export interface AclEntry {
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: 'allow' | 'deny';
  readonly protocol: string;
  /** Canonical CIDR. */
  readonly cidr: string;
  readonly portRange?: PortRange;
}

/** A reserved rule-number range (inclusive). */
export interface Band {
  readonly first: number;
  readonly last: number;
}

/** One NACL change; `entry` for create/replace, `previous` for replace/delete. */
export interface AclMutation {
  readonly op: 'create' | 'replace' | 'delete';
  readonly ruleNumber: number;
  readonly entry?: AclEntry;
  readonly previous?: AclEntry;
}

/** Highest user rule number; 32767 / 32768 are the IPv4 / IPv6 default deny. */
export const MAX_USER_RULE = 32766;

export function isDefaultRule(entry: Pick<AclEntry, 'ruleNumber'>): boolean {
  return entry.ruleNumber > MAX_USER_RULE;
}

export function familyOf(entry: Pick<AclEntry, 'cidr'>): IpFamily {
  return entry.cidr.includes(':') ? 6 : 4;
}

export function inBand(ruleNumber: number, band: Band): boolean {
  return ruleNumber >= band.first && ruleNumber <= band.last;
}

/**
 * What an entry matches (CIDR, protocol, ports): two entries with the same key are duplicates.
 * Ports only count for tcp (6) and udp (17): EC2 ignores them for other protocols.
 */
export function matchKey(entry: Pick<AclEntry, 'cidr' | 'protocol' | 'portRange'>): string {
  const ports =
    (entry.protocol === '6' || entry.protocol === '17') && entry.portRange
      ? `${entry.portRange.from}-${entry.portRange.to}`
      : '';
  return `${entry.cidr}|${entry.protocol}|${ports}`;
}

/** The entries after a mutation (same direction rules as EC2: numbers unique per direction). */
export function applyMutation(entries: readonly AclEntry[], m: AclMutation): AclEntry[] {
  const egress = m.entry?.egress ?? m.previous?.egress ?? false;
  const rest = entries.filter((e) => !(e.ruleNumber === m.ruleNumber && e.egress === egress));
  if (m.op === 'delete' || !m.entry) return rest;
  return [...rest, m.entry].sort((a, b) => a.ruleNumber - b.ruleNumber);
}
