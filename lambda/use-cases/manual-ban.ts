/**
 * Manual ban and unban (`cloudjail ban` / `cloudjail unban`): write desired state only. The caller
 * then runs the enforcer (the single NACL writer, architecture invariant 1) and reports its outcome.
 *
 * A manual ban refuses a range that overlaps the allowlist (architecture invariants 6 and 10),
 * always — `--force` overrides only the CLI's broad-range guard, never the allowlist, because the
 * enforcer refuses such a ban anyway (core/enforcement/screen-bans.ts): the global `ignoreip`, the
 * jail's own `ignoreip` and the runtime allowlist (`cloudjail ignore add`). A ban in the
 * pseudo-jail {@link MANUAL_JAIL} denies all traffic, so every jail's allowlist applies to it.
 * Pure of AWS: ports only.
 */
import type { JailConfig } from '../config/jail-config.js';
import { type Ban, isBanActive, MANUAL_JAIL } from '../core/ban.js';
import { type Cidr, cidrCovers, parseCidr } from '../core/ip-address.js';
import { PERMANENT } from '../core/policy/duration.js';
import type { BanStore } from '../ports/ban-store.js';

/** Ban length of a manual ban in {@link MANUAL_JAIL} without `--for` / `--permanent`: one day. */
export const MANUAL_DEFAULT_BANTIME = 86_400_000;

export interface ManualBanDeps {
  readonly store: BanStore;
  /** Configured jails (their names, bantime and own allowlists). */
  readonly jails: readonly Pick<JailConfig, 'name' | 'bantime' | 'ignoreip'>[];
  /** Global allowlist (config `ignoreip`), canonical CIDRs. */
  readonly ignoreip: readonly string[];
  readonly now: () => number;
}

export interface ManualBanRequest {
  readonly cidr: Cidr;
  /** A configured jail or {@link MANUAL_JAIL} (the default). */
  readonly jail?: string;
  /** ms, or {@link PERMANENT}; default: the jail's bantime ({@link MANUAL_DEFAULT_BANTIME} for manual). */
  readonly duration?: number;
  readonly reason?: string;
}

/** An allowlist entry that overlaps the requested ban. */
export interface AllowlistHit {
  readonly cidr: string;
  /** `ignoreip` (config, global), `jail` (a jail's config ignoreip), `runtime` (`ignore add`). */
  readonly source: 'ignoreip' | 'jail' | 'runtime';
  readonly jail?: string;
}

export type ManualBanOutcome =
  | { readonly status: 'banned'; readonly ban: Ban }
  | { readonly status: 'already-banned'; readonly ban: Ban }
  | { readonly status: 'refused'; readonly allowlist: readonly AllowlistHit[] }
  | { readonly status: 'unknown-jail'; readonly jail: string; readonly known: readonly string[] };

/** Two CIDRs overlap when one contains the other (CIDR blocks never partially overlap). */
function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/** Allowlist entries overlapping `cidr` that apply to `jail`. */
export async function allowlistHits(
  cidr: Cidr,
  jail: string,
  deps: Pick<ManualBanDeps, 'store' | 'jails' | 'ignoreip'>,
): Promise<AllowlistHit[]> {
  const hits: AllowlistHit[] = [];
  const check = (text: string, hit: Omit<AllowlistHit, 'cidr'>) => {
    const entry = parseCidr(text);
    if (entry && overlaps(entry, cidr)) hits.push({ cidr: entry.text, ...hit });
  };
  const everyJail = jail === MANUAL_JAIL;
  for (const c of deps.ignoreip) check(c, { source: 'ignoreip' });
  for (const j of deps.jails) {
    if (everyJail || j.name === jail) {
      for (const c of j.ignoreip) check(c, { source: 'jail', jail: j.name });
    }
  }
  for (const e of await deps.store.listIgnores()) {
    if (e.jail === undefined || everyJail || e.jail === jail) {
      check(e.cidr, { source: 'runtime', ...(e.jail !== undefined ? { jail: e.jail } : {}) });
    }
  }
  return hits;
}

export async function manualBan(
  request: ManualBanRequest,
  deps: ManualBanDeps,
): Promise<ManualBanOutcome> {
  const jailName = request.jail ?? MANUAL_JAIL;
  const jail = deps.jails.find((j) => j.name === jailName);
  if (!jail && jailName !== MANUAL_JAIL) {
    return {
      status: 'unknown-jail',
      jail: jailName,
      known: [MANUAL_JAIL, ...deps.jails.map((j) => j.name)],
    };
  }
  const hits = await allowlistHits(request.cidr, jailName, deps);
  if (hits.length > 0) return { status: 'refused', allowlist: hits };

  const duration = request.duration ?? jail?.bantime ?? MANUAL_DEFAULT_BANTIME;
  const cidr = request.cidr.text;
  // Two attempts: 'conflict' means another writer changed the record since we read it.
  for (let attempt = 0; attempt < 2; attempt++) {
    const now = deps.now();
    const previous = (await deps.store.bansOf(cidr)).find((b) => b.jail === jailName);
    if (previous && isBanActive(previous, now)) return { status: 'already-banned', ban: previous };
    const ban: Ban = {
      jail: jailName,
      cidr,
      createdAt: now,
      expiresAt: duration === PERMANENT ? null : now + duration,
      source: 'manual',
      failures: 0,
      banCount: (previous?.banCount ?? 0) + 1,
      reason: request.reason ?? 'manual ban',
    };
    const result = await deps.store.putBan(ban, now, previous);
    if (result === 'created') {
      await deps.store.addStats(jailName, 0, 1);
      return { status: 'banned', ban };
    }
    if (result === 'already-banned') {
      const current = (await deps.store.bansOf(cidr)).find((b) => b.jail === jailName);
      if (current) return { status: 'already-banned', ban: current };
    }
  }
  throw new Error(`ban ${cidr} in jail ${jailName}: the record kept changing; try again`);
}

export interface ManualUnbanRequest {
  /** One range; or `all`. */
  readonly cidr?: Cidr;
  readonly jail?: string;
  readonly all?: boolean;
}

export interface ManualUnbanOutcome {
  /** Bans ended now (their expiresAt set to now). */
  readonly released: readonly Ban[];
  /**
   * When nothing was released for `cidr`: active bans of larger ranges covering it (unban those,
   * or allowlist the address).
   */
  readonly coveredBy: readonly Ban[];
}

export async function manualUnban(
  request: ManualUnbanRequest,
  deps: Pick<ManualBanDeps, 'store' | 'now'>,
): Promise<ManualUnbanOutcome> {
  const now = deps.now();
  if (!request.all && request.cidr === undefined) {
    throw new Error('unban needs an address/CIDR or all');
  }
  const released = await deps.store.releaseBans(
    {
      ...(request.cidr ? { cidr: request.cidr.text } : {}),
      ...(request.jail !== undefined ? { jail: request.jail } : {}),
      ...(request.all ? { all: true } : {}),
    },
    now,
  );
  let coveredBy: Ban[] = [];
  const wanted = request.cidr;
  if (released.length === 0 && wanted) {
    coveredBy = (await deps.store.listBans()).filter((b) => {
      const c = parseCidr(b.cidr);
      return (
        c !== undefined &&
        isBanActive(b, now) &&
        (request.jail === undefined || b.jail === request.jail) &&
        c.text !== wanted.text &&
        cidrCovers(c, wanted)
      );
    });
  }
  return { released, coveredBy };
}
