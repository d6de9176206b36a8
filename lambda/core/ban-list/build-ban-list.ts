/**
 * The published ban list, part 1: from the bans the enforcer admits to the list's content.
 *
 * - Input: the admitted ban records (the same screened set the NACL tier plans from), the jails'
 *   deny specs and block types, the allowlist (config `ignoreip`, per-jail `ignoreip`, runtime
 *   ignores) and `now`. Expired records are left out (`expiresAt <= now`).
 * - Grouping: one group per (deny spec, verdict); a ban goes to its jail's group (manual bans and
 *   bans of jails no longer configured deny all traffic, dropped). A CIDR is listed once per group;
 *   several records of it (several jails) keep the latest expiry (`null` = permanent wins).
 * - Defence in depth (architecture invariant 10): a ban whose CIDR overlaps an allowlist entry that
 *   applies to its jail is never listed: it is returned in `refused` (the enforcer's screening has
 *   normally refused it already, so this is empty).
 * - Deterministic: groups ordered by verdict then deny spec, bans by CIDR, allowlist by CIDR, so the
 *   same state always gives the same bytes, and {@link BuiltBanList.contentHash} (SHA-256 of the
 *   content, without serial and time) tells whether anything changed since the last publication.
 *
 * Pure: no I/O, time passed in (node:crypto's hash is computation only).
 */
import { createHash } from 'node:crypto';
import { type Ban, isBanActive, MANUAL_JAIL } from '../ban.js';
import { DENY_ALL, type DenySpec } from '../deny-spec.js';
import { type Cidr, parseCidr } from '../ip-address.js';
import {
  type AllowlistEntry,
  BAN_LIST_SCHEMA,
  BAN_LIST_SCHEMA_VERSION,
  type BanList,
  type BanListGroup,
  type BanVerdict,
  type PublishedBan,
} from './schema.js';

/** What the builder needs of a jail (structurally the config's JailConfig). */
export interface BanListJail {
  readonly name: string;
  readonly deny: DenySpec;
  /** Default drop. */
  readonly blocktype?: BanVerdict;
  /** Canonical CIDRs this jail never bans. */
  readonly ignoreip?: readonly string[];
}

/** A runtime allowlist entry (the store's IgnoreEntry): `jail` undefined = every jail. */
export interface RuntimeIgnore {
  readonly cidr: string;
  readonly jail?: string;
}

export interface BanListInput {
  /** The admitted ban records (screened by the enforcer); inactive ones are skipped. */
  readonly bans: readonly Ban[];
  readonly jails: readonly BanListJail[];
  /** The configuration's global `ignoreip`. */
  readonly ignoreip: readonly string[];
  readonly runtimeIgnores: readonly RuntimeIgnore[];
  readonly now: number;
}

/** The list without serial and time: what the content hash covers. */
export interface BanListContent {
  readonly allowlist: readonly AllowlistEntry[];
  readonly groups: readonly BanListGroup[];
}

export interface BuiltBanList {
  readonly content: BanListContent;
  /** SHA-256 (hex) of the canonical JSON of `content`. */
  readonly contentHash: string;
  /** Active records listed (each record once, whatever the merging of CIDRs). */
  readonly listedBans: readonly Ban[];
  /** `[cidr, expiresAt]` pairs over every group. */
  readonly entries: number;
  /** Active records refused because their CIDR overlaps an allowlist entry of their jail. */
  readonly refused: readonly Ban[];
}

/** A deny spec in canonical form (protocols sorted) so equal specs group together. */
function canonicalDeny(spec: DenySpec): DenySpec {
  if (spec.kind === 'all') return DENY_ALL;
  return {
    kind: 'ports',
    ports: [...spec.ports].sort((a, b) => a.from - b.from || a.to - b.to),
    protocols: [...spec.protocols].sort(),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An address range (first and last address as integers). */
interface Range {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

function rangeOf(cidr: Cidr): Range {
  const bits = cidr.family === 4 ? 32 : 128;
  let value = 0n;
  if (cidr.family === 4) {
    for (const part of cidr.network.split('.')) value = (value << 8n) | BigInt(Number(part));
  } else {
    const [head = '', tail] = cidr.network.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  const size = 1n << BigInt(bits - cidr.prefix);
  return { family: cidr.family, first: value, last: value + size - 1n };
}

/** A dotted-quad /p read without ipaddr.js: a million bans are checked against the allowlist. */
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function banRange(cidr: string): Range | undefined {
  const m = IPV4_CIDR.exec(cidr);
  if (m) {
    const value =
      ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
    const prefix = Number(m[5]);
    const first = BigInt(value);
    return { family: 4, first, last: first + (1n << BigInt(32 - prefix)) - 1n };
  }
  const parsed = parseCidr(cidr);
  return parsed ? rangeOf(parsed) : undefined;
}

function overlaps(a: Range, b: Range): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The allowlist entries, merged per CIDR (`null` = every jail wins), sorted by CIDR. */
export function buildAllowlist(
  ignoreip: readonly string[],
  jails: readonly BanListJail[],
  runtimeIgnores: readonly RuntimeIgnore[],
): AllowlistEntry[] {
  const byCidr = new Map<string, Set<string> | null>();
  const add = (text: string, jail: string | undefined) => {
    const cidr = parseCidr(text)?.text;
    if (!cidr) return; // validated config and store entries are canonical; never guess
    const current = byCidr.get(cidr);
    if (current === null) return;
    if (jail === undefined) byCidr.set(cidr, null);
    else byCidr.set(cidr, new Set([...(current ?? []), jail]));
  };
  for (const cidr of ignoreip) add(cidr, undefined);
  for (const jail of jails) for (const cidr of jail.ignoreip ?? []) add(cidr, jail.name);
  for (const entry of runtimeIgnores) add(entry.cidr, entry.jail);
  return [...byCidr]
    .map(([cidr, jailSet]) => ({ cidr, jails: jailSet === null ? null : [...jailSet].sort() }))
    .sort((a, b) => compareText(a.cidr, b.cidr));
}

/** The content of the ban list, its hash, and what was listed or refused. */
export function buildBanList(input: BanListInput): BuiltBanList {
  const jailsByName = new Map<string, BanListJail>();
  for (const j of input.jails) if (j.name !== MANUAL_JAIL) jailsByName.set(j.name, j);
  const allowlist = buildAllowlist(input.ignoreip, input.jails, input.runtimeIgnores);
  const allowRanges = allowlist.flatMap((a) => {
    const cidr = parseCidr(a.cidr);
    return cidr ? [{ range: rangeOf(cidr), jails: a.jails }] : [];
  });

  interface Group {
    readonly deny: DenySpec;
    readonly verdict: BanVerdict;
    readonly jails: Set<string>;
    readonly bans: Map<string, number | null>;
  }
  const groups = new Map<string, Group>();
  const listedBans: Ban[] = [];
  const refused: Ban[] = [];
  for (const ban of input.bans) {
    if (!isBanActive(ban, input.now)) continue;
    if (allowRanges.length > 0) {
      const range = banRange(ban.cidr);
      const blocked =
        range === undefined ||
        allowRanges.some(
          (a) => (a.jails === null || a.jails.includes(ban.jail)) && overlaps(a.range, range),
        );
      if (blocked) {
        refused.push(ban);
        continue;
      }
    }
    const jail = jailsByName.get(ban.jail);
    const deny = canonicalDeny(jail?.deny ?? DENY_ALL);
    const verdict: BanVerdict = jail?.blocktype ?? 'drop';
    const key = `${verdict}|${JSON.stringify(deny)}`;
    let group = groups.get(key);
    if (!group) {
      group = { deny, verdict, jails: new Set(), bans: new Map() };
      groups.set(key, group);
    }
    group.jails.add(ban.jail);
    const previous = group.bans.get(ban.cidr);
    const expiresAt =
      previous === undefined
        ? ban.expiresAt
        : previous === null || ban.expiresAt === null
          ? null
          : Math.max(previous, ban.expiresAt);
    group.bans.set(ban.cidr, expiresAt);
    listedBans.push(ban);
  }

  let entries = 0;
  const ordered: BanListGroup[] = [...groups]
    .sort(([a], [b]) => compareText(a, b))
    .map(([, g]) => {
      const bans: PublishedBan[] = [...g.bans].sort((a, b) => compareText(a[0], b[0]));
      entries += bans.length;
      return { jails: [...g.jails].sort(), deny: g.deny, verdict: g.verdict, bans };
    });
  const content: BanListContent = { allowlist, groups: ordered };
  return { content, contentHash: contentHash(content), listedBans, entries, refused };
}

/** SHA-256 (hex) of the canonical JSON of a list's content (serial and time excluded). */
export function contentHash(content: BanListContent): string {
  return createHash('sha256')
    .update(JSON.stringify({ allowlist: content.allowlist, groups: content.groups }))
    .digest('hex');
}

/**
 * The serial of a new publication: the publication time in ms, or one more than the previous
 * serial when that is not older. Without any state it still only grows (a lost object, a fresh
 * local server), as long as the enforcer's clock does not run backwards.
 */
export function nextSerial(previous: number | undefined, generatedAt: number): number {
  return Math.max(generatedAt, (previous ?? 0) + 1);
}

/** The document to publish. */
export function banListDocument(
  content: BanListContent,
  serial: number,
  generatedAt: number,
): BanList {
  return {
    schema: BAN_LIST_SCHEMA,
    schemaVersion: BAN_LIST_SCHEMA_VERSION,
    serial,
    generatedAt,
    allowlist: content.allowlist,
    groups: content.groups,
  };
}
