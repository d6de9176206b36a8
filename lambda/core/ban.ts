/**
 * The ban: cloudjail's unit of desired state. Detectors and the CLI write bans; the enforcer reads
 * the active ones and converges network ACLs to them. Plain readonly data, no behaviour but helpers.
 */

/** Who created a ban. Manual bans (CLI) outrank detector bans when NACL capacity is short. */
export type BanSource = 'detector' | 'manual';

/** The pseudo-jail of a manual ban given without `--jail`: it denies all traffic. */
export const MANUAL_JAIL = 'manual';

export interface Ban {
  /** Jail name; its deny spec (ports/protocols or all traffic) comes from the jail's config. */
  readonly jail: string;
  /** Canonical CIDR (see core/ip-address.ts): `203.0.113.7/32`, `2001:db8::7/128`, `198.51.100.0/24`. */
  readonly cidr: string;
  /** Epoch ms when the ban was decided (the event time of the failure that triggered it). */
  readonly createdAt: number;
  /** Epoch ms when the ban ends; `null` = permanent. Compare with now: expired items linger until TTL. */
  readonly expiresAt: number | null;
  readonly source: BanSource;
  /** Failures counted when the ban was decided (0 for manual bans). */
  readonly failures: number;
  /** 1 for a first ban of this address, n for the n-th (drives bantime escalation). */
  readonly banCount: number;
  /** Human-readable reason (CLI `--reason`, or e.g. "10 failures in 10m"). */
  readonly reason?: string;
  /** A few matched log lines, for `status <jail>` and notifications. */
  readonly matches?: readonly string[];
  readonly logGroup?: string;
  readonly logStream?: string;
  /** Event time of the last failure this ban consumed: later failures start a fresh count. */
  readonly lastFailureAt?: number;
  /**
   * Ids of the failures a ban decided from one batch alone consumed without storing them in the
   * failure window: a redelivery of that batch recognises them and counts nothing twice.
   */
  readonly consumedFailureIds?: readonly string[];
  /** Set by the enforcer's sweep once the expired ban has left every NACL (record kept for history). */
  readonly expired?: boolean;
}

/** True while the ban is in force at `now` (epoch ms). Never trust TTL: it deletes up to ~48 h late. */
export function isBanActive(ban: Pick<Ban, 'expiresAt'>, now: number): boolean {
  return ban.expiresAt === null || ban.expiresAt > now;
}
