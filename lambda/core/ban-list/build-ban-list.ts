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
  /** SHA-256 (hex) of {@link BuiltBanList.contentJson}. */
  readonly contentHash: string;
  /** The canonical JSON of `content` (what the hash covers; {@link banListJson} reuses it). */
  readonly contentJson: string;
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

/**
 * An address range: first and last address as integers (IPv4 as numbers: exact up to 2^32 and
 * far cheaper than bigint for a million bans; IPv6 as bigint).
 */
type Range =
  | { readonly family: 4; readonly first: number; readonly last: number }
  | { readonly family: 6; readonly first: bigint; readonly last: bigint };

function rangeOf(cidr: Cidr): Range {
  if (cidr.family === 4) {
    let value = 0;
    for (const part of cidr.network.split('.')) value = value * 256 + Number(part);
    return { family: 4, first: value, last: value + 2 ** (32 - cidr.prefix) - 1 };
  }
  const [head = '', tail] = cidr.network.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  let value = 0n;
  for (const g of [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]) {
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return { family: 6, first: value, last: value + (1n << BigInt(128 - cidr.prefix)) - 1n };
}

/**
 * The range of a canonical IPv4 CIDR (`a.b.c.d/p`), read by hand (no regex, no ipaddr.js: a
 * million bans are checked against the allowlist); undefined when it is not one.
 */
function ipv4Range(cidr: string): Range | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < cidr.length; i++) {
    const c = cidr.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else if ((c === 46 && dots < 3) || (c === 47 && dots === 3)) {
      if (digits === 0 || part > 255) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      if (c === 47) {
        const prefix = Number(cidr.slice(i + 1));
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || i + 1 === cidr.length)
          return undefined;
        return { family: 4, first: value, last: value + 2 ** (32 - prefix) - 1 };
      }
      dots++;
    } else return undefined;
  }
  return undefined;
}

function banRange(cidr: string): Range | undefined {
  if (!cidr.includes(':')) return ipv4Range(cidr);
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
    /** Unsorted, possibly several per CIDR: sorted and merged at the end (cheaper than a Map). */
    readonly bans: [string, number | null][];
  }
  const groups = new Map<string, Group>();
  // One lookup per jail, not per ban: a million bans share a handful of groups.
  const groupOfJail = new Map<string, Group>();
  const groupOf = (jailName: string): Group => {
    const cached = groupOfJail.get(jailName);
    if (cached) return cached;
    const jail = jailsByName.get(jailName);
    const deny = canonicalDeny(jail?.deny ?? DENY_ALL);
    const verdict: BanVerdict = jail?.blocktype ?? 'drop';
    const key = `${verdict}|${JSON.stringify(deny)}`;
    let group = groups.get(key);
    if (!group) {
      group = { deny, verdict, jails: new Set(), bans: [] };
      groups.set(key, group);
    }
    groupOfJail.set(jailName, group);
    return group;
  };
  const listedBans: Ban[] = [];
  const refused: Ban[] = [];
  for (const ban of input.bans) {
    if (!isBanActive(ban, input.now)) continue;
    if (allowRanges.length > 0) {
      const range = banRange(ban.cidr);
      let blocked = range === undefined;
      for (let i = 0; !blocked && range && i < allowRanges.length; i++) {
        const a = allowRanges[i] as (typeof allowRanges)[number];
        blocked = overlaps(a.range, range) && (a.jails === null || a.jails.includes(ban.jail));
      }
      if (blocked) {
        refused.push(ban);
        continue;
      }
    }
    const group = groupOf(ban.jail);
    group.jails.add(ban.jail);
    group.bans.push([ban.cidr, ban.expiresAt]);
    listedBans.push(ban);
  }

  let entries = 0;
  const ordered: BanListGroup[] = [...groups]
    .sort(([a], [b]) => compareText(a, b))
    .map(([, g]) => {
      g.bans.sort((a, b) => compareText(a[0], b[0]));
      // One pair per CIDR: the latest expiry of its records (permanent wins).
      const bans: [string, number | null][] = [];
      for (const pair of g.bans) {
        const last = bans[bans.length - 1];
        if (last && last[0] === pair[0]) {
          last[1] = last[1] === null || pair[1] === null ? null : Math.max(last[1], pair[1]);
        } else bans.push(pair);
      }
      entries += bans.length;
      return {
        jails: [...g.jails].sort(),
        deny: g.deny,
        verdict: g.verdict,
        bans: bans as PublishedBan[],
      };
    });
  const content: BanListContent = { allowlist, groups: ordered };
  const contentJson = canonicalJson(content);
  const contentHash = createHash('sha256').update(contentJson).digest('hex');
  return { content, contentHash, contentJson, listedBans, entries, refused };
}

function canonicalJson(content: BanListContent): string {
  return JSON.stringify({ allowlist: content.allowlist, groups: content.groups });
}

/** SHA-256 (hex) of the canonical JSON of a list's content (serial and time excluded). */
export function contentHash(content: BanListContent): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * `JSON.stringify(banListDocument(content, serial, generatedAt))`, built from the content's JSON
 * already made for the hash: at a million bans, one 35 MB stringify instead of two.
 */
export function banListJson(contentJson: string, serial: number, generatedAt: number): string {
  const head = JSON.stringify({
    schema: BAN_LIST_SCHEMA,
    schemaVersion: BAN_LIST_SCHEMA_VERSION,
    serial,
    generatedAt,
  });
  return `${head.slice(0, -1)},${contentJson.slice(1)}`;
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
