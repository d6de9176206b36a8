/**
 * Planning: a validated ban list and the time now → the one nft script that makes table
 * `inet cloudjail` enforce it. Pure (no I/O, no clock): the agent's adapters run the script.
 *
 * Layout of the table (docs/enforcement.md, "Host tier: the agent"):
 * - `allow_v4` / `allow_v6`: the global allowlist (entries with `jails: null`), accepted first;
 * - per group N (bans sharing jails, deny spec and verdict): `gN_v4` / `gN_v6` with
 *   `flags interval, timeout`, each element's timeout its remaining ban time (permanent bans have
 *   none), and `gN_allow_v4` / `gN_allow_v6` for allowlist entries of some jails only, excluded
 *   from that group's rules (an entry naming any of the group's jails lets the source through:
 *   nothing ever denies an allowlisted address);
 * - regular chain `bans`: the rules; base chain `input` (hook input, priority filter - 10, before
 *   the usual filter chains) jumps to it, and `forward` too when the host routes traffic.
 *
 * The script is one transaction: `add table` + `delete table` + the full table, so the kernel
 * switches from the old enforcement to the new at once (no moment without bans) and no other
 * table is ever named. Full replace rather than a delta: the kernel holds no state the agent must
 * keep (timeouts are recomputed from expiresAt), and BENCHMARKS.md measures its cost.
 */
import type { BanList, BanListGroup } from '../lambda/core/ban-list/schema.js';
import type { IpFamily } from '../lambda/core/ip-address.js';
import { cidrInterval, envelope, intervalText, type TimedInterval } from './ip-intervals.js';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'cloudjail';
/** Before the usual `filter` chains (priority 0), so our allowlist is seen before our drops. */
export const CHAIN_PRIORITY = 'filter - 10';

export interface PlanOptions {
  /** Also enforce on forwarded traffic (a host that routes for others). Default false. */
  readonly forward?: boolean;
}

export interface SetPlan {
  readonly name: string;
  readonly family: IpFamily;
  readonly timeout: boolean;
  /** Interval set (prefixes) or hash set (host addresses: far cheaper for nft to load). */
  readonly interval: boolean;
  /** nft element texts (`203.0.113.0/24 timeout 1h2m3s`), disjoint. */
  readonly elements: readonly string[];
}

export interface NftPlan {
  readonly serial: number;
  readonly sets: readonly SetPlan[];
  readonly rules: readonly string[];
  /** Ban elements (after merging), per family; allowlist elements not counted. */
  readonly banElements: { readonly v4: number; readonly v6: number };
  readonly allowElements: number;
  /** Bans in the list already expired at `now` (left out). */
  readonly expired: number;
  readonly script: string;
}

/** nft time text of a duration in ms (`1d2h3m4s500ms`): nft refuses large plain ms values. */
export function nftDuration(ms: number): string {
  let rest = Math.max(1, Math.ceil(ms));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join('');
}

type Split = { v4: TimedInterval[]; v6: TimedInterval[] };

function splitByFamily(entries: Iterable<readonly [string, number]>): Split {
  const out: Split = { v4: [], v6: [] };
  for (const [cidr, expiresAt] of entries) {
    const { family, interval } = cidrInterval(cidr);
    (family === 4 ? out.v4 : out.v6).push({
      start: interval.start,
      end: interval.end,
      expiresAt,
      cidr,
    });
  }
  return out;
}

function elementTexts(items: TimedInterval[], family: IpFamily, now: number): string[] {
  return envelope(items).map((s) => {
    const text = intervalText(s, family);
    return s.expiresAt === Infinity ? text : `${text} timeout ${nftDuration(s.expiresAt - now)}`;
  });
}

function portsText(group: BanListGroup): string {
  if (group.deny.kind !== 'ports') return '';
  const ranges = group.deny.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`));
  return ranges.length === 1 ? ranges[0]! : `{ ${ranges.join(', ')} }`;
}

/** The rules of one group for one family's set (`match` = `ip saddr @g0_v4 [ip saddr != @…]`). */
function groupRules(group: BanListGroup, match: string): string[] {
  const reject = group.verdict === 'reject';
  if (group.deny.kind === 'all') {
    return reject
      ? [
          `${match} meta l4proto tcp counter reject with tcp reset`,
          `${match} counter reject with icmpx type port-unreachable`,
        ]
      : [`${match} counter drop`];
  }
  const ports = portsText(group);
  const protocols = [...group.deny.protocols].sort();
  if (!reject) {
    const proto = protocols.length === 1 ? protocols[0] : `{ ${protocols.join(', ')} }`;
    return [`${match} meta l4proto ${proto} th dport ${ports} counter drop`];
  }
  return protocols.map((p) =>
    p === 'tcp'
      ? `${match} tcp dport ${ports} counter reject with tcp reset`
      : `${match} udp dport ${ports} counter reject with icmpx type port-unreachable`,
  );
}

function setBlock(set: SetPlan): string {
  const flags = [...(set.interval ? ['interval'] : []), ...(set.timeout ? ['timeout'] : [])].join(
    ', ',
  );
  const lines = [
    `  set ${set.name} {`,
    `    type ${set.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}`,
    `    flags ${flags}`,
  ];
  if (set.elements.length > 0) {
    lines.push('    elements = {');
    // Several elements per line: a million bans stay a readable, parseable file.
    for (let i = 0; i < set.elements.length; i += 8) {
      const chunk = set.elements.slice(i, i + 8).join(', ');
      lines.push(`      ${chunk}${i + 8 < set.elements.length ? ',' : ''}`);
    }
    lines.push('    }');
  }
  lines.push('  }');
  return lines.join('\n');
}

const SADDR: Record<IpFamily, string> = { 4: 'ip saddr', 6: 'ip6 saddr' };

/** The nft script enforcing `list` at `now` (epoch ms). */
export function planNft(list: BanList, now: number, options: PlanOptions = {}): NftPlan {
  const sets: SetPlan[] = [];
  const rules: string[] = [];
  const families: IpFamily[] = [4, 6];

  const allow = (jailsMatch: (jails: readonly string[] | null) => boolean) =>
    splitByFamily(
      list.allowlist.filter((e) => jailsMatch(e.jails)).map((e) => [e.cidr, Infinity] as const),
    );
  const global = allow((jails) => jails === null);
  let allowElements = 0;
  for (const family of families) {
    const items = family === 4 ? global.v4 : global.v6;
    if (items.length === 0) continue;
    const name = `allow_v${family}`;
    const elements = elementTexts(items, family, now);
    allowElements += elements.length;
    sets.push({ name, family, timeout: false, interval: true, elements });
    rules.push(`${SADDR[family]} @${name} accept`);
  }

  let expired = 0;
  const banElements = { v4: 0, v6: 0 };
  list.groups.forEach((group, index) => {
    const active: [string, number][] = [];
    for (const [cidr, expiresAt] of group.bans) {
      if (expiresAt !== null && expiresAt <= now) expired++;
      else active.push([cidr, expiresAt ?? Infinity]);
    }
    // Host bans go to hash sets (nft loads them several times faster than interval elements and
    // they cannot overlap: duplicates keep the latest expiry); prefixes to interval sets, merged.
    // A host inside a banned prefix sits in both: each expires on its own, the union is enforced.
    const hosts: Record<IpFamily, Map<string, number>> = { 4: new Map(), 6: new Map() };
    const prefixes: [string, number][] = [];
    for (const ban of active) {
      const [cidr, expiresAt] = ban;
      const family: IpFamily | undefined =
        cidr.endsWith('/32') && !cidr.includes(':') ? 4 : cidr.endsWith('/128') ? 6 : undefined;
      if (family === undefined) prefixes.push(ban);
      else {
        const address = cidr.slice(0, cidr.lastIndexOf('/'));
        const known = hosts[family].get(address);
        if (known === undefined || known < expiresAt) hosts[family].set(address, expiresAt);
      }
    }
    const bans = splitByFamily(prefixes);
    const groupAllow = allow((jails) => jails?.some((j) => group.jails.includes(j)) === true);
    for (const family of families) {
      let exclude = '';
      const allowItems = family === 4 ? groupAllow.v4 : groupAllow.v6;
      if (allowItems.length > 0) {
        const allowName = `g${index}_allow_v${family}`;
        const allowTexts = elementTexts(allowItems, family, now);
        allowElements += allowTexts.length;
        sets.push({
          name: allowName,
          family,
          timeout: false,
          interval: true,
          elements: allowTexts,
        });
        exclude = ` ${SADDR[family]} != @${allowName}`;
      }
      const hostElements = [...hosts[family]].map(([address, expiresAt]) =>
        expiresAt === Infinity ? address : `${address} timeout ${nftDuration(expiresAt - now)}`,
      );
      const items = family === 4 ? bans.v4 : bans.v6;
      const prefixElements = items.length > 0 ? elementTexts(items, family, now) : [];
      for (const [name, elements, interval] of [
        [`g${index}_v${family}h`, hostElements, false],
        [`g${index}_v${family}`, prefixElements, true],
      ] as const) {
        if (elements.length === 0) continue;
        banElements[family === 4 ? 'v4' : 'v6'] += elements.length;
        sets.push({ name, family, timeout: true, interval, elements });
        rules.push(...groupRules(group, `${SADDR[family]} @${name}${exclude}`));
      }
    }
  });

  const base = (hook: string) =>
    [
      `  chain ${hook} {`,
      `    type filter hook ${hook} priority ${CHAIN_PRIORITY}; policy accept;`,
      ...(hook === 'input' ? ['    iif "lo" accept'] : []),
      '    jump bans',
      '  }',
    ].join('\n');
  const script = [
    `# cloudjail ban list serial ${list.serial}: one transaction, table ${TABLE_FAMILY} ${TABLE_NAME} only`,
    `add table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `delete table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `table ${TABLE_FAMILY} ${TABLE_NAME} {`,
    ...sets.map(setBlock),
    '  chain bans {',
    ...rules.map((r) => `    ${r}`),
    '  }',
    base('input'),
    ...(options.forward ? [base('forward')] : []),
    '}',
    '',
  ].join('\n');
  return { serial: list.serial, sets, rules, banElements, allowElements, expired, script };
}

/** The script `agent uninstall` runs: deletes our table (and nothing else) if it exists. */
export function uninstallScript(): string {
  return `add table ${TABLE_FAMILY} ${TABLE_NAME}\ndelete table ${TABLE_FAMILY} ${TABLE_NAME}\n`;
}
