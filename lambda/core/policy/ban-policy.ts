/**
 * Ban duration with escalation for repeat offenders, in the spirit of fail2ban's
 * `bantime.increment`: the n-th ban (n >= 2) lasts bantime × factor × 2^(n-1) (fail2ban's default
 * formula, capped at 2^20), or bantime × factor × multipliers[min(n-1, len-1)] when multipliers
 * are given; never shorter than bantime, never longer than maxtime. Pure.
 */
import { PERMANENT } from './duration.js';

/** Escalation settings (fail2ban `bantime.increment`, `.factor`, `.multipliers`, `.maxtime`, `.overalljails`). */
export interface BantimeIncrement {
  readonly enabled: boolean;
  /** Multiplies the formula (fail2ban `bantime.factor`, default 1). */
  readonly factor: number;
  /** Replaces the doubling formula when set: bantime × factor × multipliers[min(n, len-1)]. */
  readonly multipliers?: readonly number[];
  /** Cap in ms (fail2ban `bantime.maxtime`); undefined = none. */
  readonly maxtime?: number;
  /** Count earlier bans across all jails (fail2ban `bantime.overalljails`). */
  readonly overalljails: boolean;
}

/**
 * @param bantime the jail's bantime in ms, or PERMANENT
 * @param previousBans bans of this address before this one (in this jail, or in all jails with
 *   `overalljails`)
 * @returns ms, or PERMANENT
 */
export function banDuration(
  bantime: number,
  previousBans: number,
  increment: BantimeIncrement,
): number {
  if (bantime === PERMANENT) return PERMANENT;
  if (!increment.enabled || previousBans <= 0) return bantime;
  let duration: number;
  if (increment.multipliers && increment.multipliers.length > 0) {
    const list = increment.multipliers;
    duration = bantime * increment.factor * (list[Math.min(previousBans, list.length - 1)] ?? 1);
  } else {
    duration = Math.max(bantime, bantime * increment.factor * 2 ** Math.min(previousBans, 20));
  }
  if (increment.maxtime !== undefined) duration = Math.min(duration, increment.maxtime);
  return Math.round(duration);
}
