/**
 * Desired state, part 1: from ban records to the deny entries cloudjail wants, ranked.
 *
 * - Only active bans count (`expiresAt > now` or permanent); a record whose CIDR does not parse is
 *   skipped and returned in `invalid` (never guessed: attacker-derived text must not ban the wrong
 *   address).
 * - Bans of one CIDR in several jails merge into one desired ban: any "all traffic" spec wins,
 *   otherwise the union of ports per protocol. Manual bans (jail `manual`) and bans of a jail that
 *   is no longer configured deny all traffic.
 * - Ranking (highest first): permanent or manual bans, then most failures, then most recent
 *   decision (for permanent/manual bans: the oldest, so none is evicted by a newer one), then CIDR
 *   (deterministic).
 * - Optional aggregation: when at least `minBans` desired bans more specific than the aggregation
 *   prefix share that prefix, they become one entry for the prefix (e.g. a /24) — unless the prefix
 *   overlaps an allowlisted range (an aggregate must never deny an allowlisted address): then the
 *   bans stay separate entries.
 *
 * Pure: no I/O, time passed in.
 */
import { type Ban, isBanActive, MANUAL_JAIL } from '../ban.js';
import { DENY_ALL, type DenySpec, type PortRange } from '../deny-spec.js';
import { cidrCovers, type IpFamily, parseCidr, prefixCidr } from '../ip-address.js';

/** Aggregation settings (structurally the config's `enforcement.aggregate`). */
export interface AggregationSettings {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  readonly minBans: number;
}

/** One NACL entry a desired ban needs (its CIDR is the ban's). */
export interface DesiredEntry {
  /** EC2 protocol number: "-1" (all), "6" (tcp), "17" (udp). */
  readonly protocol: string;
  readonly portRange?: PortRange;
}

/** A CIDR cloudjail wants denied: one or more entries, backed by one or more ban records. */
export interface DesiredBan {
  /** Canonical CIDR of the entries. */
  readonly cidr: string;
  readonly family: IpFamily;
  /** Entries, all of which must be in place for the ban to be enforced. */
  readonly entries: readonly DesiredEntry[];
  /** The active ban records this desired ban enforces (several jails, or an aggregate). */
  readonly bans: readonly Ban[];
  /** True when it is the aggregate of several more specific bans. */
  readonly aggregated: boolean;
  /** Ranking keys. */
  readonly priority: {
    readonly tier: 0 | 1;
    readonly failures: number;
    readonly decidedAt: number;
  };
}

export interface DesiredBansResult {
  /** Ranked, highest priority first. */
  readonly desired: readonly DesiredBan[];
  /** Active records counted. */
  readonly activeBans: readonly Ban[];
  /** Records whose CIDR is not a valid canonical CIDR (skipped). */
  readonly invalid: readonly Ban[];
}

export const PROTOCOL_NUMBERS = { all: '-1', tcp: '6', udp: '17' } as const;

/** Key of a ban record: one per (cidr, jail) in the store. */
export function banKey(ban: Pick<Ban, 'cidr' | 'jail'>): string {
  return `${ban.cidr}#${ban.jail}`;
}

/** Merges deny specs: any "all" wins; otherwise ports are unioned per protocol. */
export function mergeDenySpecs(specs: readonly DenySpec[]): DesiredEntry[] {
  if (specs.length === 0 || specs.some((s) => s.kind === 'all')) {
    return [{ protocol: PROTOCOL_NUMBERS.all }];
  }
  const byProtocol = new Map<string, PortRange[]>();
  for (const spec of specs) {
    if (spec.kind !== 'ports') continue;
    for (const protocol of spec.protocols) {
      const list = byProtocol.get(protocol) ?? [];
      list.push(...spec.ports);
      byProtocol.set(protocol, list);
    }
  }
  const entries: DesiredEntry[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    const ranges = byProtocol.get(protocol);
    if (!ranges) continue;
    for (const range of mergeRanges(ranges)) {
      entries.push({ protocol: PROTOCOL_NUMBERS[protocol], portRange: range });
    }
  }
  return entries.length > 0 ? entries : [{ protocol: PROTOCOL_NUMBERS.all }];
}

function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: PortRange[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to + 1) {
      merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, r.to) };
    } else merged.push({ from: r.from, to: r.to });
  }
  return merged;
}

/**
 * Orders desired bans, highest priority first. Among permanent and manual bans (tier 0) the OLDER
 * decision keeps its slot: an operator's ban is never evicted by a newer one of the same rank (the
 * newer one is reported not enforced instead). Among detector bans the most recent ranks first.
 */
export function compareDesiredBans(a: DesiredBan, b: DesiredBan): number {
  const recency =
    a.priority.tier === 0
      ? a.priority.decidedAt - b.priority.decidedAt
      : b.priority.decidedAt - a.priority.decidedAt;
  return (
    a.priority.tier - b.priority.tier ||
    b.priority.failures - a.priority.failures ||
    recency ||
    (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0)
  );
}

function priorityOf(bans: readonly Ban[]): DesiredBan['priority'] {
  let tier: 0 | 1 = 1;
  let failures = 0;
  let decidedAt = Number.NEGATIVE_INFINITY;
  for (const b of bans) {
    if (b.expiresAt === null || b.source === 'manual') tier = 0;
    failures = Math.max(failures, b.failures);
    decidedAt = Math.max(decidedAt, b.createdAt);
  }
  return { tier, failures, decidedAt };
}

/**
 * @param denyOf the deny spec of a configured jail, undefined for an unknown jail (then: all).
 * @param allowlist every allowlisted CIDR (config and runtime, any jail): no aggregate overlaps one.
 */
export function desiredBans(
  records: readonly Ban[],
  denyOf: (jail: string) => DenySpec | undefined,
  now: number,
  aggregate?: AggregationSettings,
  allowlist: readonly string[] = [],
): DesiredBansResult {
  const allowed = allowlist.flatMap((text) => parseCidr(text) ?? []);
  const invalid: Ban[] = [];
  const activeBans: Ban[] = [];
  const byCidr = new Map<string, { family: IpFamily; prefix: number; bans: Ban[] }>();
  for (const ban of records) {
    if (!isBanActive(ban, now)) continue;
    const cidr = typeof ban.cidr === 'string' ? parseCidr(ban.cidr) : undefined;
    // Only a canonical CIDR is trusted: a non-canonical one means the record was not written by
    // cloudjail's own code, and re-interpreting it could deny an address nobody banned.
    if (!cidr || cidr.text !== ban.cidr) {
      invalid.push(ban);
      continue;
    }
    activeBans.push(ban);
    const group = byCidr.get(cidr.text) ?? { family: cidr.family, prefix: cidr.prefix, bans: [] };
    group.bans.push(ban);
    byCidr.set(cidr.text, group);
  }

  const specOf = (b: Ban): DenySpec =>
    b.jail === MANUAL_JAIL ? DENY_ALL : (denyOf(b.jail) ?? DENY_ALL);
  const make = (cidr: string, family: IpFamily, bans: Ban[], aggregated: boolean): DesiredBan => ({
    cidr,
    family,
    entries: mergeDenySpecs(bans.map(specOf)),
    bans,
    aggregated,
    priority: priorityOf(bans),
  });

  let groups = [...byCidr].map(([cidr, g]) => ({ cidr, ...g }));
  const desired: DesiredBan[] = [];
  if (aggregate) {
    const buckets = new Map<string, { family: IpFamily; members: typeof groups }>();
    const rest: typeof groups = [];
    for (const g of groups) {
      const target = g.family === 4 ? aggregate.ipv4Prefix : aggregate.ipv6Prefix;
      if (g.prefix < target) {
        rest.push(g);
        continue;
      }
      const network = g.cidr.slice(0, g.cidr.lastIndexOf('/'));
      const key = prefixCidr(network, target)?.text;
      if (!key) {
        rest.push(g);
        continue;
      }
      const bucket = buckets.get(key) ?? { family: g.family, members: [] };
      bucket.members.push(g);
      buckets.set(key, bucket);
    }
    for (const [key, bucket] of buckets) {
      // Count the bans more specific than the prefix; a ban of the prefix itself joins them.
      const specific = bucket.members.filter((m) => m.cidr !== key).length;
      const prefix = parseCidr(key);
      const coversAllowed =
        prefix !== undefined && allowed.some((a) => cidrCovers(prefix, a) || cidrCovers(a, prefix));
      if (specific >= aggregate.minBans && !coversAllowed) {
        desired.push(
          make(
            key,
            bucket.family,
            bucket.members.flatMap((m) => m.bans),
            true,
          ),
        );
      } else rest.push(...bucket.members);
    }
    groups = rest;
  }
  for (const g of groups) desired.push(make(g.cidr, g.family, g.bans, false));
  desired.sort(compareDesiredBans);
  return { desired, activeBans, invalid };
}
