/**
 * The runtime allowlist (`cloudjail ignore add|del|list`): CIDRs the detector never counts and a
 * manual ban refuses without `--force`, on top of the configuration's `ignoreip` lists (which only
 * change with a deployment). Adding an entry does not lift bans already in force: the outcome lists
 * them so the operator can unban. Pure of AWS: ports only.
 */
import type { JailConfig } from '../config/jail-config.js';
import { type Ban, isBanActive, MANUAL_JAIL } from '../core/ban.js';
import { type Cidr, cidrCovers, parseCidr } from '../core/ip-address.js';
import type { BanStore } from '../ports/ban-store.js';

export interface IgnoreListDeps {
  readonly store: BanStore;
  readonly jails: readonly Pick<JailConfig, 'name' | 'ignoreip'>[];
  /** Global allowlist of the configuration. */
  readonly ignoreip: readonly string[];
  readonly now: () => number;
}

/** One allowlist entry as listed: `jail` undefined = every jail. */
export interface ListedIgnore {
  readonly cidr: string;
  readonly jail?: string;
  /** `runtime`: added with `ignore add` (removable); `config`: from the deployed configuration. */
  readonly source: 'runtime' | 'config';
}

export type AddIgnoreOutcome =
  | {
      readonly status: 'added' | 'exists';
      readonly entry: ListedIgnore;
      /** Active bans inside the range: still in force until unbanned. */
      readonly activeBans: readonly Ban[];
    }
  | { readonly status: 'unknown-jail'; readonly jail: string; readonly known: readonly string[] };

export type RemoveIgnoreOutcome =
  | { readonly status: 'removed'; readonly entry: ListedIgnore }
  | { readonly status: 'not-found' }
  /** The range is in the configuration, not the runtime list: change the config and redeploy. */
  | { readonly status: 'in-config'; readonly entry: ListedIgnore };

function checkJail(jail: string | undefined, deps: IgnoreListDeps) {
  if (jail === undefined || jail === MANUAL_JAIL || deps.jails.some((j) => j.name === jail)) {
    return undefined;
  }
  return { status: 'unknown-jail' as const, jail, known: deps.jails.map((j) => j.name) };
}

/** Runtime entries and configuration entries, runtime first, each sorted by range then jail. */
export async function listIgnores(deps: IgnoreListDeps): Promise<readonly ListedIgnore[]> {
  const order = (a: ListedIgnore, b: ListedIgnore) =>
    a.cidr.localeCompare(b.cidr) || (a.jail ?? '').localeCompare(b.jail ?? '');
  const runtime: ListedIgnore[] = (await deps.store.listIgnores()).map((e) => ({
    cidr: e.cidr,
    ...(e.jail !== undefined ? { jail: e.jail } : {}),
    source: 'runtime',
  }));
  const config: ListedIgnore[] = [
    ...deps.ignoreip.map((cidr): ListedIgnore => ({ cidr, source: 'config' })),
    ...deps.jails.flatMap((j) =>
      j.ignoreip.map((cidr): ListedIgnore => ({ cidr, jail: j.name, source: 'config' })),
    ),
  ];
  return [...runtime.sort(order), ...config.sort(order)];
}

export async function addIgnore(
  request: { readonly cidr: Cidr; readonly jail?: string },
  deps: IgnoreListDeps,
): Promise<AddIgnoreOutcome> {
  const bad = checkJail(request.jail, deps);
  if (bad) return bad;
  const entry: ListedIgnore = {
    cidr: request.cidr.text,
    ...(request.jail !== undefined ? { jail: request.jail } : {}),
    source: 'runtime',
  };
  const existing = await deps.store.listIgnores();
  const exists = existing.some((e) => e.cidr === entry.cidr && e.jail === entry.jail);
  if (!exists) {
    await deps.store.addIgnore({
      cidr: entry.cidr,
      ...(entry.jail !== undefined ? { jail: entry.jail } : {}),
    });
  }
  const now = deps.now();
  const activeBans = (await deps.store.listBans()).filter((b) => {
    const c = parseCidr(b.cidr);
    return (
      c !== undefined &&
      isBanActive(b, now) &&
      (request.jail === undefined || b.jail === request.jail || b.jail === MANUAL_JAIL) &&
      (cidrCovers(request.cidr, c) || cidrCovers(c, request.cidr))
    );
  });
  return { status: exists ? 'exists' : 'added', entry, activeBans };
}

export async function removeIgnore(
  request: { readonly cidr: Cidr; readonly jail?: string },
  deps: IgnoreListDeps,
): Promise<RemoveIgnoreOutcome> {
  const entry = {
    cidr: request.cidr.text,
    ...(request.jail !== undefined ? { jail: request.jail } : {}),
  };
  if (await deps.store.removeIgnore(entry)) {
    return { status: 'removed', entry: { ...entry, source: 'runtime' } };
  }
  const inConfig =
    request.jail === undefined
      ? deps.ignoreip.includes(entry.cidr)
      : (deps.jails.find((j) => j.name === request.jail)?.ignoreip.includes(entry.cidr) ?? false);
  return inConfig
    ? { status: 'in-config', entry: { ...entry, source: 'config' } }
    : { status: 'not-found' };
}
