/**
 * Screening: the enforcer's last line of defence (architecture invariant 10). Before either tier
 * (NACLs, the published ban list) sees a ban, every active ban record is checked, whoever wrote it
 * (detector, CLI, or someone with write access to the table):
 *
 * - `allowlisted`: its CIDR overlaps an allowlist entry that applies to it — the configuration's
 *   global `ignoreip`, a jail's `ignoreip`, or a runtime entry (`cloudjail ignore add`, global or
 *   jail-scoped). Overlap means either contains the other: a ban of 192.0.2.0/24 covers an
 *   allowlisted 192.0.2.5, and a ban of 192.0.2.5 lies inside an allowlisted 192.0.2.0/28. A global
 *   entry applies to every ban; a jail-scoped one to bans of that jail and to bans that belong to
 *   no configured jail (manual bans, bans of a jail no longer configured): those deny all traffic
 *   on behalf of every jail — the same rule `cloudjail ban` applies (use-cases/manual-ban.ts).
 * - `too-broad`: its prefix is shorter than the minimum (default /16 IPv4, /48 IPv6).
 *
 * Refused bans are never enforced; the caller reports them (report field, metric, log line).
 * Records that are not active, or whose CIDR does not parse, pass through unchanged (desiredBans
 * ignores the former and reports the latter as invalid). Pure.
 */
import { type Ban, isBanActive } from '../ban.js';
import { type Cidr, cidrCovers, parseCidr } from '../ip-address.js';

/** One allowlist entry, with where it comes from. `jail` undefined = every jail. */
export interface AllowlistEntry {
  readonly cidr: string;
  /** `ignoreip` (config, global), `jail` (a jail's config ignoreip), `runtime` (`ignore add`). */
  readonly source: 'ignoreip' | 'jail' | 'runtime';
  readonly jail?: string;
}

/** Shortest prefix the enforcer accepts per family. */
export interface MinBanPrefix {
  readonly ipv4: number;
  readonly ipv6: number;
}

export const MIN_BAN_PREFIX_DEFAULTS: MinBanPrefix = { ipv4: 16, ipv6: 48 };

export type RefusalReason = 'allowlisted' | 'too-broad';

export interface RefusedBan {
  readonly ban: Ban;
  readonly reason: RefusalReason;
  /** The allowlist entries it overlaps (reason `allowlisted`). */
  readonly allowlist?: readonly AllowlistEntry[];
  /** The minimum prefix it is broader than (reason `too-broad`). */
  readonly minPrefix?: number;
}

export interface ScreenedBans {
  /** Every record not refused (inactive and unparsable ones included, unchanged). */
  readonly admitted: readonly Ban[];
  readonly refused: readonly RefusedBan[];
}

/** Two CIDR blocks overlap when one contains the other (they never partially overlap). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/**
 * @param everyJail true when the ban belongs to no configured jail (manual, unknown): then the
 *   jail-scoped allowlist entries of every jail apply to it.
 */
export function screenBans(
  records: readonly Ban[],
  allowlist: readonly AllowlistEntry[],
  minPrefix: MinBanPrefix,
  now: number,
  everyJail: (ban: Ban) => boolean,
): ScreenedBans {
  const entries = allowlist.flatMap((e) => {
    const cidr = parseCidr(e.cidr);
    return cidr ? [{ entry: e, cidr }] : [];
  });
  const admitted: Ban[] = [];
  const refused: RefusedBan[] = [];
  for (const ban of records) {
    const cidr =
      isBanActive(ban, now) && typeof ban.cidr === 'string' ? parseCidr(ban.cidr) : undefined;
    if (!cidr) {
      admitted.push(ban);
      continue;
    }
    const all = everyJail(ban);
    const hits = entries
      .filter(
        ({ entry, cidr: allowed }) =>
          (entry.jail === undefined || entry.jail === ban.jail || all) &&
          cidrsOverlap(allowed, cidr),
      )
      .map(({ entry }) => entry);
    const min = cidr.family === 4 ? minPrefix.ipv4 : minPrefix.ipv6;
    if (hits.length > 0) refused.push({ ban, reason: 'allowlisted', allowlist: hits });
    else if (cidr.prefix < min) refused.push({ ban, reason: 'too-broad', minPrefix: min });
    else admitted.push(ban);
  }
  return { admitted, refused };
}
