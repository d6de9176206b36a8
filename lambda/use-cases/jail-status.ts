/**
 * `cloudjail status` and `cloudjail status <jail>`, in the spirit of `fail2ban-client status`:
 * per jail the currently failing and total failed addresses, the currently and total banned, and for
 * one jail the banned list with expiry and reason. NACL capacity comes from the enforcer's view and
 * is passed in by the caller. Pure of AWS: ports only.
 */
import type { JailConfig } from '../config/jail-config.js';
import { type Ban, isBanActive, MANUAL_JAIL } from '../core/ban.js';
import type { DesiredBanReader, JailStats } from '../ports/ban-store.js';
import type { FailingAddress, FailureWindowReader } from '../ports/failure-windows.js';
import type { EnforcementReport, NaclReport, RefusedBanReport } from './enforce-bans.js';

export interface JailStatusDeps {
  readonly store: DesiredBanReader & { listStats(): Promise<readonly JailStats[]> };
  readonly failures: FailureWindowReader;
  readonly jails: readonly Pick<JailConfig, 'name' | 'filter' | 'logGroups' | 'findtime'>[];
  readonly now: () => number;
}

/** NACL capacity and per-ban placement as the enforcer sees it (from a dry-run enforcer report). */
export interface EnforcementView {
  readonly nacls: readonly Pick<
    NaclReport,
    'naclId' | 'ipv4' | 'ipv6' | 'error' | 'enforcedBans' | 'pendingBans'
  >[];
  /** Active bans not in the NACLs for lack of capacity. */
  readonly notEnforced: number;
  /** Active bans that fit but are not written yet (the next run writes them). */
  readonly pending: number;
  /** Active bans the enforcer refuses (allowlisted, broader than the minimum prefix). */
  readonly refused: number;
  readonly refusedBans: readonly RefusedBanReport[];
}

/** The capacity view of an enforcer report. */
export function enforcementView(report: EnforcementReport): EnforcementView {
  return {
    nacls: report.nacls.map((n) => ({
      naclId: n.naclId,
      ipv4: n.ipv4,
      ipv6: n.ipv6,
      enforcedBans: n.enforcedBans ?? [],
      pendingBans: n.pendingBans ?? [],
      ...(n.error !== undefined ? { error: n.error } : {}),
    })),
    notEnforced: report.notEnforced,
    pending: report.pending,
    refused: report.refused ?? 0,
    refusedBans: report.refusedBans ?? [],
  };
}

/** Where one ban stands in one NACL. */
export type NaclBanState = 'enforced' | 'pending' | 'not-enforced' | 'error';

/** Where one ban is enforced: per NACL, and (once it exists) on the host tier. */
export interface BanPlacement {
  /** True when denied in every target NACL. */
  readonly enforcedEverywhere: boolean;
  /** Per target NACL; `via` = the aggregate entry that holds it. */
  readonly nacls: readonly {
    readonly naclId: string;
    readonly state: NaclBanState;
    readonly via?: string;
  }[];
  /** Refused by the enforcer (screening): enforced nowhere, on any tier. */
  readonly refused?: RefusedBanReport['reason'];
  /**
   * The host tier (the published ban list, the agents applying it): filled in by the host-tier
   * code once it reports per ban; absent until then.
   */
  readonly hosts?: { readonly published: boolean };
}

/** Where a ban is enforced, per the enforcer's view. */
export function placementOf(view: EnforcementView, ban: Pick<Ban, 'cidr' | 'jail'>): BanPlacement {
  const same = (r: { cidr: string; jail: string }) => r.cidr === ban.cidr && r.jail === ban.jail;
  const refused = view.refusedBans.find(same);
  const nacls = view.nacls.map((n) => {
    if (n.error !== undefined) return { naclId: n.naclId, state: 'error' as const };
    const enforced = n.enforcedBans.find(same);
    if (enforced) {
      return {
        naclId: n.naclId,
        state: 'enforced' as const,
        ...(enforced.via ? { via: enforced.via } : {}),
      };
    }
    return {
      naclId: n.naclId,
      state: n.pendingBans.some(same) ? ('pending' as const) : ('not-enforced' as const),
    };
  });
  return {
    enforcedEverywhere: !refused && nacls.every((n) => n.state === 'enforced'),
    nacls,
    ...(refused ? { refused: refused.reason } : {}),
  };
}

/** An active ban that is not enforced in every NACL, and where it stands. */
export interface UnenforcedBan {
  readonly cidr: string;
  readonly jail: string;
  readonly enforcement: BanPlacement;
}

export interface JailSummary {
  readonly jail: string;
  readonly currentlyFailed: number;
  readonly totalFailed: number;
  readonly currentlyBanned: number;
  readonly totalBanned: number;
}

export interface StatusOverview {
  readonly jails: readonly JailSummary[];
  readonly activeBans: number;
  readonly enforcement?: EnforcementView;
  /** With `enforcement`: every active ban not enforced in every NACL (rank order of the table). */
  readonly notEnforcedBans?: readonly UnenforcedBan[];
}

export interface BannedEntry {
  readonly cidr: string;
  /** Epoch ms, null = permanent. */
  readonly expiresAt: number | null;
  readonly createdAt: number;
  readonly source: Ban['source'];
  readonly reason?: string;
  readonly failures: number;
  readonly banCount: number;
  /** Where it is enforced (when the enforcer could be asked). */
  readonly enforcement?: BanPlacement;
}

export interface JailDetail extends JailSummary {
  readonly filter?: string;
  readonly logGroups: readonly string[];
  /** Currently failing addresses (not banned), most failures first. */
  readonly failing: readonly FailingAddress[];
  /** Active bans, latest expiry last (permanent at the end). */
  readonly banned: readonly BannedEntry[];
}

function jailNames(deps: JailStatusDeps, bans: readonly Ban[]): string[] {
  const names = deps.jails.map((j) => j.name);
  // Bans of jails no longer configured are still enforced: list them too.
  for (const b of bans) if (!names.includes(b.jail)) names.push(b.jail);
  if (!names.includes(MANUAL_JAIL)) names.push(MANUAL_JAIL);
  return names;
}

async function summarize(
  jail: string,
  deps: JailStatusDeps,
  active: readonly Ban[],
  stats: readonly JailStats[],
  now: number,
): Promise<{ summary: JailSummary; failing: FailingAddress[] }> {
  const cfg = deps.jails.find((j) => j.name === jail);
  const banned = active.filter((b) => b.jail === jail);
  const bannedHosts = new Set(banned.map((b) => b.cidr.replace(/\/(?:32|128)$/, '')));
  const failing = cfg
    ? (await deps.failures.failingAddresses(jail, now - cfg.findtime)).filter(
        (f) => !bannedHosts.has(f.address),
      )
    : [];
  const s = stats.find((x) => x.jail === jail);
  return {
    summary: {
      jail,
      currentlyFailed: failing.length,
      totalFailed: s?.totalFailed ?? 0,
      currentlyBanned: banned.length,
      totalBanned: s?.totalBanned ?? 0,
    },
    failing: [...failing].sort(
      (a, b) => b.failures - a.failures || b.lastFailureAt - a.lastFailureAt,
    ),
  };
}

export async function statusOverview(
  deps: JailStatusDeps,
  enforcement?: EnforcementView,
): Promise<StatusOverview> {
  const now = deps.now();
  const [bans, stats] = await Promise.all([deps.store.listBans(), deps.store.listStats()]);
  const active = bans.filter((b) => isBanActive(b, now));
  const jails = await Promise.all(
    jailNames(deps, active).map(
      async (j) => (await summarize(j, deps, active, stats, now)).summary,
    ),
  );
  const notEnforcedBans = enforcement
    ? active.flatMap((b) => {
        const placement = placementOf(enforcement, b);
        return placement.enforcedEverywhere
          ? []
          : [{ cidr: b.cidr, jail: b.jail, enforcement: placement }];
      })
    : undefined;
  return {
    jails,
    activeBans: active.length,
    ...(enforcement ? { enforcement, notEnforcedBans } : {}),
  };
}

/** Status of one jail; undefined when the jail is neither configured nor holds bans. */
export async function jailStatus(
  jail: string,
  deps: JailStatusDeps,
  enforcement?: EnforcementView,
): Promise<JailDetail | undefined> {
  const now = deps.now();
  const [bans, stats] = await Promise.all([deps.store.listBans(), deps.store.listStats()]);
  const active = bans.filter((b) => isBanActive(b, now));
  if (!jailNames(deps, active).includes(jail)) return undefined;
  const cfg = deps.jails.find((j) => j.name === jail);
  const { summary, failing } = await summarize(jail, deps, active, stats, now);
  const banned = active
    .filter((b) => b.jail === jail)
    .sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity))
    .map(
      (b): BannedEntry => ({
        cidr: b.cidr,
        expiresAt: b.expiresAt,
        createdAt: b.createdAt,
        source: b.source,
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
        failures: b.failures,
        banCount: b.banCount,
        ...(enforcement ? { enforcement: placementOf(enforcement, b) } : {}),
      }),
    );
  return {
    ...summary,
    ...(cfg ? { filter: cfg.filter } : {}),
    logGroups: cfg?.logGroups ?? [],
    failing,
    banned,
  };
}
