/**
 * The enforce-bans use case: one level-triggered reconciliation run of every target NACL
 * (architecture invariants 1-4, 8). Only the enforcer Lambda (reserved concurrency 1) runs it.
 *
 * 0. Unless dry-run: acquire the enforcer lease (ports/enforcer-state.ts) BEFORE reading desired
 *    state, waiting a bounded time for a run that holds it; a run that cannot get it returns a
 *    report with `skipped` (the holder converges). The lease is renewed (by fencing token) before
 *    each NACL's mutations: a run that lost it stops mutating. Released at the end.
 * 1. Read every ban record (desired state), the runtime allowlist and the learned NACL quotas;
 *    SCREEN the active bans (core/enforcement/screen-bans.ts): a ban overlapping the allowlist or
 *    broader than `minBanPrefix` is refused — reported (`refused`, `refusedBans`), logged, never
 *    enforced on any tier — then rank the admitted ones (core/enforcement).
 * 2. Per NACL, in configured order: describe it, plan (capacity, selection, diff), apply the
 *    mutations — creates and replaces in rank order, then deletes — within the run's mutation cap.
 *    - EC2 throttling (`Ec2ThrottledError`, after the SDK's own retries) is retried with exponential
 *      backoff through the injected `sleep`, a bounded number of times; then the NACL stops for
 *      this run (the rest is "pending", the next run continues).
 *    - `NaclEntryExistsError` / `NaclEntryNotFoundError` mean the NACL is not what we read (another
 *      run, a console edit, eventual consistency): re-describe that NACL, re-plan, continue —
 *      at most {@link MAX_REPLANS} times per NACL per run, and every call counts against the cap.
 *    - `NaclEntryLimitError`: EC2's quota for that NACL and family is smaller than configured: the
 *      quota is lowered to the rules the family holds now, remembered in the table (so later runs
 *      and dry runs count the same), and the NACL re-planned: the bans that no longer fit are
 *      `notEnforced` (report, `BansNotEnforced`, `status`), not silently missing.
 *    - A NACL that cannot be described (e.g. `NaclNotFoundError`) is reported with `error` and the
 *      others are still enforced.
 * 3. Sweep: an expired ban record whose entries have left every NACL is marked expired
 *    (`markExpired`); its record stays until TTL. No sweep when a NACL could not be read (except
 *    one that does not exist: it holds nothing) and none in dry-run.
 * 4. Host tier: publish the complete ban list of the same admitted bans (publish-ban-list.ts)
 *    when a publisher is configured; its failure is reported in `publication.error`.
 * 5. Return a JSON-serialisable report (printed by the CLI, turned into metrics by the handler).
 *
 * Dry-run computes the same plan and reports it (`status: 'planned'`) without any NACL mutation or
 * store write.
 */
import type { JailConfig } from '../config/jail-config.js';
import type { EnforcementSettings, NaclTarget } from '../config/target-config.js';
import { type Ban, isBanActive, MANUAL_JAIL } from '../core/ban.js';
import type { DenySpec, PortRange } from '../core/deny-spec.js';
import { type AclEntry, applyMutation, familyOf } from '../core/enforcement/acl-entries.js';
import { banKey, type DesiredBan, desiredBans } from '../core/enforcement/desired-bans.js';
import {
  type FamilyPlan,
  type NaclPlan,
  type PlannedMutation,
  planNacl,
  type RemovalReason,
} from '../core/enforcement/plan-nacl.js';
import {
  type AllowlistEntry,
  MIN_BAN_PREFIX_DEFAULTS,
  type RefusalReason,
  screenBans,
} from '../core/enforcement/screen-bans.js';
import {
  Ec2ThrottledError,
  NaclEntryExistsError,
  NaclEntryLimitError,
  NaclEntryNotFoundError,
  NaclNotFoundError,
} from '../core/errors.js';
import type { BanListPublisher } from '../ports/ban-list-publisher.js';
import type { BanExpiryRecorder, BanStore, DesiredBanReader } from '../ports/ban-store.js';
import type { EnforcerStatePort, LearnedQuota, LeaseGrant } from '../ports/enforcer-state.js';
import type { NaclEntry, NetworkAcl, NetworkAclPort } from '../ports/network-acls.js';
import {
  type PublicationMemory,
  type PublicationReport,
  publishBanList,
} from './publish-ban-list.js';

/** Re-plans after a conflict (NaclEntryExists / NaclEntryNotFound) per NACL per run. */
export const MAX_REPLANS = 4;

export interface EnforcementLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface ThrottleRetry {
  /** Retries after the first throttled attempt (default 5). */
  readonly retries: number;
  /** First backoff in ms, doubled each retry (default 250). */
  readonly baseDelayMs: number;
  /** Backoff ceiling in ms (default 4000). */
  readonly maxDelayMs: number;
}

export const THROTTLE_RETRY_DEFAULTS: ThrottleRetry = {
  retries: 5,
  baseDelayMs: 250,
  maxDelayMs: 4000,
};

/** How long a run holds the lease (renewed before each NACL) and how long a run waits for it. */
export const LEASE_DEFAULTS = { leaseMs: 120_000, waitAttempts: 40, waitDelayMs: 500 } as const;

/** A learned quota older than this is probed again (the quota may have been raised). */
export const LEARNED_QUOTA_MAX_AGE_MS = 3_600_000;

export interface EnforceBansDeps {
  /** `listIgnores` (the runtime allowlist) is screened against and published. */
  readonly store: DesiredBanReader & BanExpiryRecorder & Pick<BanStore, 'listIgnores'>;
  readonly nacls: NetworkAclPort;
  /**
   * Configured jails: their deny specs (bans of other jails, and manual bans, deny all traffic),
   * their own allowlists and (host tier) block type.
   */
  readonly jails: readonly (Pick<JailConfig, 'name' | 'deny'> &
    Partial<Pick<JailConfig, 'blocktype' | 'ignoreip'>>)[];
  /** The configuration's global allowlist (`ignoreip`): no ban overlapping it is ever enforced. */
  readonly ignoreip: readonly string[];
  /** Lease and learned quotas in the table; without it no lease is taken (single-run tests). */
  readonly state?: EnforcerStatePort;
  readonly lease?: Partial<{ leaseMs: number; waitAttempts: number; waitDelayMs: number }>;
  /**
   * The host tier: after the NACL work, the complete ban list is published here (absent: NACL tier
   * only). Not in dry-run.
   */
  readonly publisher?: BanListPublisher;
  /** The container's memory of its last publication (what a failed run did not publish). */
  readonly publicationMemory?: PublicationMemory;
  readonly targets: readonly NaclTarget[];
  readonly settings: EnforcementSettings;
  readonly now: () => number;
  /** Backoff between throttled retries; tests pass a no-op. Default: setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly throttleRetry?: Partial<ThrottleRetry>;
  /**
   * A create for a ban decided longer ago than this counts as a drift repair (the entry should
   * have been there already: it was deleted behind our back). Default 5 minutes.
   */
  readonly driftGraceMs?: number;
  readonly logger?: EnforcementLogger;
}

export interface EnforceBansOptions {
  /** Overrides `settings.dryRun` when given. */
  readonly dryRun?: boolean;
}

/**
 * One family of one NACL. `capacity` and `entriesUsed` count NACL ENTRIES (a ban of a jail with
 * `deny: "sip"` takes one entry per protocol and port range); the other fields count BAN RECORDS.
 */
export interface FamilyReport {
  /** Entries cloudjail may hold in this band now. */
  readonly capacity: number;
  /** Entries of enforced bans in the band. */
  readonly entriesUsed: number;
  /** Active, admitted ban records of this family (enforced + pending + notEnforced). */
  readonly bans: number;
  /** Bans whose every entry is in the NACL. */
  readonly enforced: number;
  /** Bans that fit but are not (all) in place yet: mutation cap, throttling, errors, dry-run. */
  readonly pending: number;
  /** Bans that do not fit (capacity). */
  readonly notEnforced: number;
}

export interface ReportedEntry {
  readonly ruleNumber: number;
  readonly ruleAction: 'allow' | 'deny';
  readonly cidr: string;
  readonly protocol: string;
  readonly portRange?: PortRange;
}

export interface ReportedMutation {
  readonly op: 'create' | 'replace' | 'delete';
  readonly ruleNumber: number;
  /** The entry written (create/replace) or removed (delete). */
  readonly cidr?: string;
  readonly protocol?: string;
  readonly portRange?: PortRange;
  /** Replace: the CIDR of the entry it replaced. */
  readonly replaces?: string;
  /** Why the previous entry went (replace/delete). */
  readonly reason?: RemovalReason;
  /** `planned` = dry-run; `failed` = the call failed (see `error`). */
  readonly status: 'applied' | 'planned' | 'failed';
  readonly error?: string;
  /** Counted as a drift repair. */
  readonly driftRepair?: boolean;
}

/** A ban record as the per-NACL lists name it; `via` = the aggregate entry that enforces it. */
export interface BanRef {
  readonly cidr: string;
  readonly jail: string;
  readonly via?: string;
}

/** A refused ban (screening): never enforced on any tier. */
export interface RefusedBanReport {
  readonly cidr: string;
  readonly jail: string;
  readonly reason: RefusalReason;
  /** Allowlist entries it overlaps (`allowlisted`). */
  readonly allowlist?: readonly AllowlistEntry[];
  /** The minimum prefix it is broader than (`too-broad`). */
  readonly minPrefix?: number;
}

export interface NaclReport {
  readonly naclId: string;
  readonly ipv4: FamilyReport;
  readonly ipv6: FamilyReport;
  /** Ban records whose every entry is in this NACL (at most the band's capacity of entries). */
  readonly enforcedBans: readonly BanRef[];
  /** Ban records that fit in this NACL but are not (all) in place yet. */
  readonly pendingBans: readonly BanRef[];
  /** Inbound entries inside the bands after the run (as predicted from the calls that succeeded). */
  readonly entries: readonly ReportedEntry[];
  readonly mutations: readonly ReportedMutation[];
  /** Allow entries found inside a band (kept, unless the target adopts foreign entries). */
  readonly foreign: readonly NaclEntry[];
  /** Problems that did not stop the NACL (throttling exhausted, quota, replan limit). */
  readonly warnings?: readonly string[];
  /** The NACL could not be enforced at all (e.g. it does not exist). */
  readonly error?: string;
}

export interface EnforcementReport {
  /** ISO time of the run. */
  readonly at: string;
  readonly dryRun: boolean;
  /** Active ban records. */
  readonly activeBans: number;
  /** Distinct active ban records not enforced for lack of capacity on at least one NACL. */
  readonly notEnforced: number;
  /** Distinct active ban records that fit but are not in place yet on at least one NACL. */
  readonly pending: number;
  /** Ban records skipped because their CIDR is not canonical. */
  readonly invalidBans: number;
  /** Active ban records refused by screening (allowlist, minimum prefix): never enforced. */
  readonly refused: number;
  /** The refused records (the first {@link MAX_REFUSED_LISTED}). */
  readonly refusedBans: readonly RefusedBanReport[];
  /** Set when the run did nothing: another run holds the enforcer lease (it converges). */
  readonly skipped?: 'lease-held';
  /** Set when the lease was taken over during the run: mutations stopped there. */
  readonly leaseLost?: boolean;
  /** Expired ban records marked expired by this run. */
  readonly swept: number;
  /** NACL mutations applied (successful calls). */
  readonly mutations: number;
  /** Throttled EC2 responses seen (each retried or given up). */
  readonly throttles: number;
  readonly driftRepairs: number;
  readonly nacls: readonly NaclReport[];
  /** The host tier's ban list (absent without a publisher, and in dry-run). */
  readonly publication?: PublicationReport;
}

const EMPTY_FAMILY: FamilyReport = {
  capacity: 0,
  entriesUsed: 0,
  bans: 0,
  enforced: 0,
  pending: 0,
  notEnforced: 0,
};

export const MAX_REFUSED_LISTED = 100;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function count(bans: readonly DesiredBan[]): number {
  return bans.reduce((n, d) => n + d.bans.length, 0);
}

function familyReport(plan: FamilyPlan): FamilyReport {
  const inPlace = new Set(plan.inPlace);
  return {
    capacity: plan.capacity,
    entriesUsed: plan.entriesUsed,
    bans: count(plan.selected) + count(plan.notEnforced),
    enforced: count(plan.inPlace),
    pending: count(plan.selected.filter((d) => !inPlace.has(d))),
    notEnforced: count(plan.notEnforced),
  };
}

function banRefs(desired: readonly DesiredBan[]): BanRef[] {
  return desired.flatMap((d) =>
    d.bans.map((b) => ({ cidr: b.cidr, jail: b.jail, ...(d.aggregated ? { via: d.cidr } : {}) })),
  );
}

function reportedEntry(e: AclEntry): ReportedEntry {
  return {
    ruleNumber: e.ruleNumber,
    ruleAction: e.ruleAction,
    cidr: e.cidr,
    protocol: e.protocol,
    ...(e.portRange ? { portRange: e.portRange } : {}),
  };
}

function reportedMutation(
  m: PlannedMutation,
  status: ReportedMutation['status'],
  extra: { error?: string; driftRepair?: boolean } = {},
): ReportedMutation {
  const written = m.entry ?? m.previous;
  return {
    op: m.op,
    ruleNumber: m.ruleNumber,
    ...(written
      ? {
          cidr: written.cidr,
          protocol: written.protocol,
          ...(written.portRange ? { portRange: written.portRange } : {}),
        }
      : {}),
    ...(m.op === 'replace' && m.previous ? { replaces: m.previous.cidr } : {}),
    ...(m.removes ? { reason: m.removes } : {}),
    status,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
    ...(extra.driftRepair ? { driftRepair: true } : {}),
  };
}

interface RunState {
  mutationsLeft: number;
  mutations: number;
  throttles: number;
  driftRepairs: number;
}

interface NaclOutcome {
  readonly report: NaclReport;
  /** The final plan (undefined when the NACL could not be read). */
  readonly plan?: NaclPlan;
  readonly missing: boolean;
}

/** The lease a run holds: `check()` renews it and says whether it is still ours. */
interface HeldLease {
  check(): Promise<boolean>;
}

/**
 * Runs one reconciliation of every target NACL. Throws only when the ban store (or the lease
 * item) fails.
 */
export async function enforceBans(
  deps: EnforceBansDeps,
  options: EnforceBansOptions = {},
): Promise<EnforcementReport> {
  const dryRun = options.dryRun ?? deps.settings.dryRun;
  const state = deps.state;
  if (!state || dryRun) return reconcile(deps, dryRun, undefined);
  const sleep = deps.sleep ?? defaultSleep;
  const cfg = { ...LEASE_DEFAULTS, ...deps.lease };
  let grant: LeaseGrant | undefined;
  for (let attempt = 0; ; attempt++) {
    grant = await state.acquire(deps.now(), cfg.leaseMs);
    if (grant || attempt >= cfg.waitAttempts) break;
    await sleep(cfg.waitDelayMs);
  }
  if (!grant) {
    deps.logger?.info('another enforcer run holds the lease; it converges the NACLs', {
      waitedMs: cfg.waitAttempts * cfg.waitDelayMs,
    });
    return skippedReport(deps.now(), dryRun);
  }
  let held: LeaseGrant | undefined = grant;
  const lease: HeldLease = {
    async check() {
      if (!held) return false;
      held = await state.renew(held, deps.now(), cfg.leaseMs);
      return held !== undefined;
    },
  };
  try {
    return await reconcile(deps, dryRun, lease);
  } finally {
    // A lease that cannot be released expires by itself (leaseMs): never fail the run for it.
    if (held) {
      await state.release(held).catch((e: unknown) => {
        deps.logger?.warn('enforcer lease not released; it expires by itself', {
          error: message(e),
        });
      });
    }
  }
}

function skippedReport(now: number, dryRun: boolean): EnforcementReport {
  return {
    at: new Date(now).toISOString(),
    dryRun,
    activeBans: 0,
    notEnforced: 0,
    pending: 0,
    invalidBans: 0,
    refused: 0,
    refusedBans: [],
    swept: 0,
    mutations: 0,
    throttles: 0,
    driftRepairs: 0,
    nacls: [],
    skipped: 'lease-held',
  };
}

async function reconcile(
  deps: EnforceBansDeps,
  dryRun: boolean,
  lease: HeldLease | undefined,
): Promise<EnforcementReport> {
  const now = deps.now();
  const sleep = deps.sleep ?? defaultSleep;
  const retry: ThrottleRetry = { ...THROTTLE_RETRY_DEFAULTS, ...deps.throttleRetry };
  const driftGraceMs = deps.driftGraceMs ?? 5 * 60_000;
  const [records, ignores, learned] = await Promise.all([
    deps.store.listBans(),
    deps.store.listIgnores(),
    deps.state?.learnedQuotas() ?? Promise.resolve([] as readonly LearnedQuota[]),
  ]);

  const denies = new Map<string, DenySpec>();
  for (const jail of deps.jails) if (jail.name !== MANUAL_JAIL) denies.set(jail.name, jail.deny);
  const allowlist: AllowlistEntry[] = [
    ...deps.ignoreip.map((cidr): AllowlistEntry => ({ cidr, source: 'ignoreip' })),
    ...deps.jails.flatMap((j) =>
      (j.ignoreip ?? []).map((cidr): AllowlistEntry => ({ cidr, source: 'jail', jail: j.name })),
    ),
    ...ignores.map(
      (e): AllowlistEntry => ({
        cidr: e.cidr,
        source: 'runtime',
        ...(e.jail !== undefined ? { jail: e.jail } : {}),
      }),
    ),
  ];
  const everyJail = (b: Ban) => b.jail === MANUAL_JAIL || !denies.has(b.jail);
  // Screening runs once, before either tier: what is refused here is enforced nowhere.
  const screened = screenBans(
    records,
    allowlist,
    deps.settings.minBanPrefix ?? MIN_BAN_PREFIX_DEFAULTS,
    now,
    everyJail,
  );
  const refusedBans: RefusedBanReport[] = screened.refused.map((r) => ({
    cidr: r.ban.cidr,
    jail: r.ban.jail,
    reason: r.reason,
    ...(r.allowlist ? { allowlist: r.allowlist } : {}),
    ...(r.minPrefix !== undefined ? { minPrefix: r.minPrefix } : {}),
  }));
  if (refusedBans.length > 0) {
    deps.logger?.warn('ban records refused: allowlisted or broader than the minimum prefix', {
      count: refusedBans.length,
      bans: refusedBans.slice(0, 20),
    });
  }
  const refusedCidrs = new Set(screened.refused.map((r) => r.ban.cidr));
  const { desired, activeBans, invalid } = desiredBans(
    screened.admitted,
    (jail) => denies.get(jail),
    now,
    deps.settings.aggregate,
    allowlist.map((e) => e.cidr),
  );
  const quotasOf = (naclId: string): { 4?: number; 6?: number } => {
    const q: { 4?: number; 6?: number } = {};
    for (const l of learned) {
      if (l.naclId !== naclId || l.learnedAt <= now - LEARNED_QUOTA_MAX_AGE_MS) continue;
      if (l.quota < deps.settings.ruleQuota)
        q[l.family] = Math.min(q[l.family] ?? l.quota, l.quota);
    }
    return q;
  };
  if (invalid.length > 0) {
    deps.logger?.warn('ban records with a non-canonical CIDR skipped', {
      bans: invalid.slice(0, 20).map((b) => ({ jail: b.jail, cidr: String(b.cidr) })),
      count: invalid.length,
    });
  }
  const knownCidrs = new Set(records.map((r) => r.cidr));
  let leaseLost = false;
  const state: RunState = {
    mutationsLeft: deps.settings.maxMutationsPerRun,
    mutations: 0,
    throttles: 0,
    driftRepairs: 0,
  };

  const retrying = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof Ec2ThrottledError)) throw e;
        state.throttles++;
        if (attempt >= retry.retries) throw e;
        const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
        deps.logger?.info('EC2 throttled, backing off', { action, attempt: attempt + 1, delay });
        await sleep(delay);
      }
    }
  };

  const describe = async (naclId: string): Promise<NetworkAcl> => {
    const [acl] = await retrying('DescribeNetworkAcls', () => deps.nacls.describe([naclId]));
    if (!acl) throw new NaclNotFoundError(naclId);
    return acl;
  };

  /**
   * Drift repairs in one mutation: removing an entry nothing explains (unknown deny, duplicate,
   * other family, adopted foreign entry) counts one; writing the entry of a ban decided more than
   * `driftGraceMs` ago into a free number or in place of such an entry counts one (it should have
   * been there: someone deleted it). Swapping an evicted or expired ban's entry is not drift.
   */
  const driftRepairsOf = (m: PlannedMutation): number => {
    const removesDrift =
      m.removes === 'duplicate' ||
      m.removes === 'unknown' ||
      m.removes === 'other-family' ||
      m.removes === 'foreign';
    const restores =
      m.ban !== undefined &&
      m.ban.priority.decidedAt <= now - driftGraceMs &&
      (m.op === 'create' || (m.op === 'replace' && removesDrift));
    return (removesDrift ? 1 : 0) + (restores ? 1 : 0);
  };

  const apply = async (naclId: string, m: PlannedMutation): Promise<void> => {
    if (m.op === 'delete') {
      await retrying('DeleteNetworkAclEntry', () =>
        deps.nacls.deleteEntry(naclId, m.ruleNumber, false),
      );
    } else if (m.op === 'replace' && m.entry) {
      const entry = m.entry;
      await retrying('ReplaceNetworkAclEntry', () => deps.nacls.replaceEntry(naclId, entry));
    } else if (m.entry) {
      const entry = m.entry;
      await retrying('CreateNetworkAclEntry', () => deps.nacls.createEntry(naclId, entry));
    }
  };

  const enforceNacl = async (target: NaclTarget): Promise<NaclOutcome> => {
    let quotas = quotasOf(target.naclId);
    const plan = (entries: readonly AclEntry[]) =>
      planNacl({
        target,
        entries,
        ruleQuota: deps.settings.ruleQuota,
        ruleQuotas: quotas,
        desired,
        knownCidrs,
        refusedCidrs,
      });
    let entries: readonly AclEntry[];
    try {
      entries = (await describe(target.naclId)).entries;
    } catch (e) {
      deps.logger?.warn('network ACL not enforced', { naclId: target.naclId, error: message(e) });
      return {
        report: {
          naclId: target.naclId,
          ipv4: EMPTY_FAMILY,
          ipv6: EMPTY_FAMILY,
          enforcedBans: [],
          pendingBans: [],
          entries: [],
          mutations: [],
          foreign: [],
          error: message(e),
        },
        missing: e instanceof NaclNotFoundError,
      };
    }
    const reported: ReportedMutation[] = [];
    const warnings: string[] = [];
    for (let replans = 0; ; replans++) {
      const current = plan(entries);
      if (dryRun) {
        for (const m of current.mutations) reported.push(reportedMutation(m, 'planned'));
        break;
      }
      if (current.mutations.length > 0 && lease && !leaseLost && !(await lease.check())) {
        leaseLost = true;
      }
      if (leaseLost) {
        warnings.push('the enforcer lease was taken over by another run: no mutations here');
        break;
      }
      let conflict = false;
      let stop = false;
      for (const m of current.mutations) {
        if (state.mutationsLeft <= 0) {
          stop = true;
          break;
        }
        state.mutationsLeft--;
        try {
          await apply(target.naclId, m);
        } catch (e) {
          reported.push(reportedMutation(m, 'failed', { error: message(e) }));
          if (e instanceof NaclEntryExistsError || e instanceof NaclEntryNotFoundError) {
            conflict = true;
            break;
          }
          const written = m.entry ?? m.previous;
          if (e instanceof NaclEntryLimitError && written) {
            // EC2 holds no more rules of this family than it holds now (default deny included).
            const family = familyOf(written);
            const quota = entries.filter((x) => !x.egress && familyOf(x) === family).length;
            quotas = { ...quotas, [family]: quota };
            warnings.push(
              `${message(e)}: EC2 allows ${quota} inbound IPv${family} rules here (configured ruleQuota ${deps.settings.ruleQuota}); the bans that do not fit are not enforced`,
            );
            try {
              await deps.state?.recordQuota({
                naclId: target.naclId,
                family,
                quota,
                learnedAt: now,
              });
            } catch (err) {
              warnings.push(`could not remember the quota: ${message(err)}`);
            }
            conflict = true;
            break;
          }
          // Throttling beyond our retries, or anything unexpected: stop this NACL for this run.
          warnings.push(message(e));
          stop = true;
          break;
        }
        entries = applyMutation(entries, m);
        state.mutations++;
        const repairs = driftRepairsOf(m);
        state.driftRepairs += repairs;
        reported.push(reportedMutation(m, 'applied', { driftRepair: repairs > 0 }));
      }
      if (!conflict || stop) break;
      if (replans >= MAX_REPLANS) {
        warnings.push(`still conflicting after ${MAX_REPLANS} re-plans; the next run continues`);
        break;
      }
      try {
        entries = (await describe(target.naclId)).entries;
      } catch (e) {
        warnings.push(message(e));
        break;
      }
    }
    const final = plan(entries);
    if (warnings.length > 0) {
      deps.logger?.warn('network ACL partly enforced', { naclId: target.naclId, warnings });
    }
    return {
      report: {
        naclId: target.naclId,
        ipv4: familyReport(final.ipv4),
        ipv6: familyReport(final.ipv6),
        enforcedBans: banRefs([...final.ipv4.inPlace, ...final.ipv6.inPlace]),
        pendingBans: banRefs(
          [final.ipv4, final.ipv6].flatMap((f) => {
            const inPlace = new Set(f.inPlace);
            return f.selected.filter((d) => !inPlace.has(d));
          }),
        ),
        entries: final.bandEntries.map(reportedEntry),
        mutations: reported,
        foreign: final.foreign,
        ...(warnings.length > 0 ? { warnings } : {}),
      },
      plan: final,
      missing: false,
    };
  };

  const outcomes: NaclOutcome[] = [];
  for (const target of deps.targets) outcomes.push(await enforceNacl(target));

  const notEnforced = new Set<string>();
  const pending = new Set<string>();
  for (const { plan } of outcomes) {
    if (!plan) continue;
    for (const fam of [plan.ipv4, plan.ipv6]) {
      for (const d of fam.notEnforced) for (const b of d.bans) notEnforced.add(banKey(b));
      const inPlace = new Set(fam.inPlace);
      for (const d of fam.selected) {
        if (!inPlace.has(d)) for (const b of d.bans) pending.add(banKey(b));
      }
    }
  }

  let swept = 0;
  const readable = outcomes.every((o) => o.plan !== undefined || o.missing);
  // A run that lost its lease leaves the sweep to the holder.
  if (!dryRun && readable && !leaseLost) {
    // Every CIDR still held by an entry that has to go (in any NACL) is not swept yet.
    const lingering = new Set<string>();
    for (const { plan } of outcomes) {
      for (const m of plan?.mutations ?? []) if (m.previous) lingering.add(m.previous.cidr);
    }
    const due: Ban[] = records.filter(
      (r) => !isBanActive(r, now) && r.expired !== true && !lingering.has(r.cidr),
    );
    if (due.length > 0) {
      await deps.store.markExpired(due, now);
      swept = due.length;
    }
  }

  // The host tier: the same admitted bans the NACLs were planned from, every one of them. A failed
  // publication is reported and retried by the next run; it never undoes the NACL work above.
  const publication =
    // A run that lost its lease publishes nothing: the run that took it over publishes.
    deps.publisher && !dryRun && !leaseLost
      ? await publishBanList(activeBans, now, {
          publisher: deps.publisher,
          jails: deps.jails,
          ignoreip: deps.ignoreip ?? [],
          runtimeIgnores: async () => (await deps.store.listIgnores?.()) ?? [],
          ...(deps.publicationMemory ? { memory: deps.publicationMemory } : {}),
          ...(deps.logger ? { logger: deps.logger } : {}),
        })
      : undefined;

  return {
    at: new Date(now).toISOString(),
    dryRun,
    activeBans: activeBans.length,
    notEnforced: notEnforced.size,
    pending: pending.size,
    invalidBans: invalid.length,
    refused: refusedBans.length,
    refusedBans: refusedBans.slice(0, MAX_REFUSED_LISTED),
    ...(leaseLost ? { leaseLost: true } : {}),
    swept,
    mutations: state.mutations,
    throttles: state.throttles,
    driftRepairs: state.driftRepairs,
    nacls: outcomes.map((o) => o.report),
    ...(publication ? { publication } : {}),
  };
}
