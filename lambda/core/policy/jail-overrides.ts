/**
 * Runtime per-jail overrides (`cloudjail set <jail> bantime 3d`): the settings that are safe to
 * change without a deploy, because they only steer decisions the detector makes from now on.
 *
 * - `maxretry`, `findtime`: how many failures in what window ban. The next batch uses them; failures
 *   already stored are judged by the new values (a shorter findtime forgets older ones sooner).
 * - `bantime`: the length of bans created from now on; bans already written keep their expiry.
 *
 * Not overridable: `filter`, `logGroups` (they change what the stack subscribes and bundles),
 * `deny` (the enforcer's NACL entries), and the allowlist, which has its own runtime list
 * (`cloudjail ignore add`). Pure.
 */
import { PERMANENT, parseDuration } from './duration.js';

/** The overridable settings. */
export const OVERRIDABLE = ['maxretry', 'findtime', 'bantime'] as const;
export type OverridableSetting = (typeof OVERRIDABLE)[number];

/** One jail's runtime overrides (ms for durations; bantime may be PERMANENT). */
export interface JailOverride {
  readonly jail: string;
  readonly maxretry?: number;
  readonly findtime?: number;
  readonly bantime?: number;
}

/** Parses `set <jail> <key> <value>` input; `reset` (or `-`) removes the override. */
export function parseOverrideValue(
  key: string,
  text: string,
): { readonly value: number | undefined } | { readonly problem: string } {
  if (!(OVERRIDABLE as readonly string[]).includes(key)) {
    return {
      problem: `${JSON.stringify(key)} cannot be changed at runtime (settable: ${OVERRIDABLE.join(', ')}; anything else needs a deploy)`,
    };
  }
  if (text === 'reset' || text === '-') return { value: undefined };
  if (key === 'maxretry') {
    return /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 10_000
      ? { value: Number(text) }
      : { problem: `maxretry: ${JSON.stringify(text)} must be a whole number from 1 to 10000` };
  }
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0 || (ms === PERMANENT && key !== 'bantime')) {
    return {
      problem: `${key}: ${JSON.stringify(text)} is not a duration (e.g. 600, 10m, 1h, 1d${key === 'bantime' ? ', -1 = permanent' : ''})`,
    };
  }
  return { value: ms };
}

/** `override` with `key` set to `value` (removed when undefined). */
export function withSetting(
  override: JailOverride,
  key: OverridableSetting,
  value: number | undefined,
): JailOverride {
  const next: Record<string, unknown> = { ...override };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next as unknown as JailOverride;
}

/** Whether an override changes anything. */
export function isEmptyOverride(o: JailOverride): boolean {
  return OVERRIDABLE.every((k) => o[k] === undefined);
}

/** A jail's settings with its override applied. */
export function applyOverride<
  T extends { readonly name: string } & Record<OverridableSetting, number>,
>(jail: T, overrides: readonly JailOverride[]): T {
  const o = overrides.find((x) => x.jail === jail.name);
  if (!o || isEmptyOverride(o)) return jail;
  return {
    ...jail,
    ...(o.maxretry !== undefined ? { maxretry: o.maxretry } : {}),
    ...(o.findtime !== undefined ? { findtime: o.findtime } : {}),
    ...(o.bantime !== undefined ? { bantime: o.bantime } : {}),
  };
}
