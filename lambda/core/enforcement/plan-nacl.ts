/**
 * Desired state, part 2: project the ranked desired bans onto one NACL's bands and diff against
 * its actual entries. Pure.
 *
 * Per family (IPv4 band, IPv6 band):
 * - capacity = min(band size − foreign entries kept in the band,
 *                  ruleQuota − 1 (default deny) − inbound entries of that family that are not ours
 *                  (outside the band, or foreign kept inside it)), at least 0;
 * - selection: desired bans in rank order, each taken only when ALL its entries fit in what is
 *   left (a ban that does not fit is "not enforced" and smaller, lower-ranked ones may still fit);
 * - classification of each inbound entry inside the band:
 *   - `allow` entries are foreign: kept and reported, unless `adoptForeign` (then removed/reused);
 *   - the first deny holding an entry of a selected ban is kept at its number (stable);
 *   - every other deny is ours-by-band and goes: a duplicate, an evicted (lower-ranked) ban, an
 *     expired ban, an unknown deny (drift), or an entry of the other family;
 * - diff: each missing entry of a selected ban (in rank order) takes the number of a same-family
 *   entry that goes (ReplaceNetworkAclEntry: no unblocked gap, one call instead of two), else the
 *   lowest free number (create). The entries still going are deleted, after every create.
 * Numbers outside the bands are never used, and outbound entries are never touched.
 */
import type { IpFamily } from '../ip-address.js';
import {
  type AclEntry,
  type AclMutation,
  type Band,
  familyOf,
  inBand,
  isDefaultRule,
  matchKey,
} from './acl-entries.js';
import { compareDesiredBans, type DesiredBan, type DesiredEntry } from './desired-bans.js';

export interface PlanTarget {
  readonly naclId: string;
  readonly ipv4Band: Band;
  readonly ipv6Band: Band;
  readonly adoptForeign: boolean;
}

export interface PlanNaclInput {
  readonly target: PlanTarget;
  /** Every entry of the NACL (both directions, default denies included). */
  readonly entries: readonly AclEntry[];
  /** Rules per direction per family, default deny included. */
  readonly ruleQuota: number;
  /** A lower quota per family where EC2 enforced one (NetworkAclEntryLimitExceeded). */
  readonly ruleQuotas?: { readonly 4?: number; readonly 6?: number };
  /** Ranked desired bans (desiredBans()). */
  readonly desired: readonly DesiredBan[];
  /** CIDRs of every stored ban record, active or expired: tells an expired deny from drift. */
  readonly knownCidrs?: ReadonlySet<string>;
  /** CIDRs of active bans refused by screening (allowlisted, too broad): their entries go. */
  readonly refusedCidrs?: ReadonlySet<string>;
}

/** Why an entry inside the band goes. */
export type RemovalReason =
  | 'duplicate'
  | 'evicted'
  | 'expired'
  | 'unknown'
  | 'other-family'
  | 'foreign'
  | 'refused';

export interface PlannedMutation extends AclMutation {
  /** The desired ban a create/replace enforces. */
  readonly ban?: DesiredBan;
  /** Why the previous entry (replace/delete) goes. */
  readonly removes?: RemovalReason;
}

export interface FamilyPlan {
  readonly family: IpFamily;
  readonly band: Band;
  readonly capacity: number;
  /** Entries of selected bans already in place (what the capacity is used by). */
  readonly entriesUsed: number;
  /** Desired bans that fit, in rank order. */
  readonly selected: readonly DesiredBan[];
  /** Selected bans whose every entry is already in place. */
  readonly inPlace: readonly DesiredBan[];
  /** Desired bans that do not fit (capacity). */
  readonly notEnforced: readonly DesiredBan[];
}

export interface NaclPlan {
  readonly naclId: string;
  readonly ipv4: FamilyPlan;
  readonly ipv6: FamilyPlan;
  /** Creates and replaces in rank order, then deletes. */
  readonly mutations: readonly PlannedMutation[];
  /** Allow entries inside a band (kept unless adoptForeign). */
  readonly foreign: readonly AclEntry[];
  /** Inbound entries inside either band, by rule number. */
  readonly bandEntries: readonly AclEntry[];
}

interface Going {
  readonly entry: AclEntry;
  readonly reason: RemovalReason;
}

function bandEntry(cidr: string, spec: DesiredEntry, ruleNumber: number): AclEntry {
  return {
    ruleNumber,
    egress: false,
    ruleAction: 'deny',
    protocol: spec.protocol,
    cidr,
    ...(spec.portRange ? { portRange: spec.portRange } : {}),
  };
}

function planFamily(
  input: PlanNaclInput,
  family: IpFamily,
  band: Band,
): {
  plan: FamilyPlan;
  fills: PlannedMutation[];
  deletes: PlannedMutation[];
  foreign: AclEntry[];
  inBandEntries: AclEntry[];
} {
  const { target } = input;
  const ruleQuota = Math.min(input.ruleQuota, input.ruleQuotas?.[family] ?? input.ruleQuota);
  const inbound = input.entries.filter((e) => !e.egress);
  const inBandEntries = inbound
    .filter((e) => inBand(e.ruleNumber, band))
    .sort((a, b) => a.ruleNumber - b.ruleNumber);
  const foreign = inBandEntries.filter((e) => e.ruleAction === 'allow');
  const foreignKept = target.adoptForeign ? [] : foreign;
  const othersOfFamily = inbound.filter(
    (e) =>
      familyOf(e) === family &&
      !isDefaultRule(e) &&
      (!inBand(e.ruleNumber, band) || (e.ruleAction === 'allow' && !target.adoptForeign)),
  ).length;
  const bandSize = band.last - band.first + 1;
  const capacity = Math.max(
    0,
    Math.min(bandSize - foreignKept.length, ruleQuota - 1 - othersOfFamily),
  );

  const selected: DesiredBan[] = [];
  const notEnforced: DesiredBan[] = [];
  let used = 0;
  for (const d of input.desired) {
    if (d.family !== family) continue;
    if (used + d.entries.length <= capacity) {
      selected.push(d);
      used += d.entries.length;
    } else notEnforced.push(d);
  }
  const wanted = new Map<string, DesiredBan>();
  for (const d of selected)
    for (const e of d.entries) wanted.set(matchKey({ cidr: d.cidr, ...e }), d);
  const unselected = new Set<string>();
  for (const d of notEnforced)
    for (const e of d.entries) unselected.add(matchKey({ cidr: d.cidr, ...e }));

  const held = new Set<string>();
  const going: Going[] = [];
  for (const e of inBandEntries) {
    if (e.ruleAction === 'allow') {
      if (target.adoptForeign) going.push({ entry: e, reason: 'foreign' });
      continue;
    }
    const key = matchKey(e);
    if (familyOf(e) !== family) going.push({ entry: e, reason: 'other-family' });
    else if (wanted.has(key) && !held.has(key)) held.add(key);
    else if (held.has(key)) going.push({ entry: e, reason: 'duplicate' });
    else if (unselected.has(key)) going.push({ entry: e, reason: 'evicted' });
    else if (input.refusedCidrs?.has(e.cidr)) going.push({ entry: e, reason: 'refused' });
    else if (input.knownCidrs?.has(e.cidr)) going.push({ entry: e, reason: 'expired' });
    else going.push({ entry: e, reason: 'unknown' });
  }

  const inPlace = selected.filter((d) =>
    d.entries.every((e) => held.has(matchKey({ cidr: d.cidr, ...e }))),
  );
  const replaceable = going.filter((g) => familyOf(g.entry) === family);
  const undeletable = going.filter((g) => familyOf(g.entry) !== family);
  const taken = new Set(inbound.map((e) => e.ruleNumber));
  const free: number[] = [];
  for (let n = band.first; n <= band.last; n++) if (!taken.has(n)) free.push(n);

  const fills: PlannedMutation[] = [];
  for (const d of selected) {
    for (const spec of d.entries) {
      if (held.has(matchKey({ cidr: d.cidr, ...spec }))) continue;
      const slot = replaceable.shift();
      if (slot) {
        fills.push({
          op: 'replace',
          ruleNumber: slot.entry.ruleNumber,
          entry: bandEntry(d.cidr, spec, slot.entry.ruleNumber),
          previous: slot.entry,
          ban: d,
          removes: slot.reason,
        });
        continue;
      }
      const n = free.shift();
      // Capacity guarantees a number; without one the entry simply stays missing (pending).
      if (n === undefined) continue;
      fills.push({ op: 'create', ruleNumber: n, entry: bandEntry(d.cidr, spec, n), ban: d });
    }
  }
  const deletes: PlannedMutation[] = [...replaceable, ...undeletable].map((g) => ({
    op: 'delete',
    ruleNumber: g.entry.ruleNumber,
    previous: g.entry,
    removes: g.reason,
  }));
  return {
    plan: { family, band, capacity, entriesUsed: held.size, selected, inPlace, notEnforced },
    fills,
    deletes,
    foreign,
    inBandEntries,
  };
}

/** Plans one NACL: what fits, what is in place, and the mutations that converge it. */
export function planNacl(input: PlanNaclInput): NaclPlan {
  const v4 = planFamily(input, 4, input.target.ipv4Band);
  const v6 = planFamily(input, 6, input.target.ipv6Band);
  const fills = [...v4.fills, ...v6.fills];
  // Stable sort: entries of one ban stay together, bans in rank order across both families.
  fills.sort((a, b) => (a.ban && b.ban ? compareDesiredBans(a.ban, b.ban) : 0));
  return {
    naclId: input.target.naclId,
    ipv4: v4.plan,
    ipv6: v6.plan,
    mutations: [...fills, ...v4.deletes, ...v6.deletes].sort(
      (a, b) => (a.op === 'delete' ? 1 : 0) - (b.op === 'delete' ? 1 : 0),
    ),
    foreign: [...v4.foreign, ...v6.foreign],
    bandEntries: [...v4.inBandEntries, ...v6.inBandEntries].sort(
      (a, b) => a.ruleNumber - b.ruleNumber,
    ),
  };
}
