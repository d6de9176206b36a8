/**
 * Jail configuration: the typed, validated model shared by the CDK app, the Lambdas and the CLI.
 * Raw JSON (as written under `cloudjail.jails` in cdk.json context) goes in; a typed value and EVERY
 * problem, each with its path (`jails[1].findtime: "10x" is not a duration`), come out.
 *
 * Defaults are fail2ban's (jail.conf): maxretry 5, findtime 10m, bantime 10m, bantime.increment off;
 * the freeswitch filter runs in mode `normal` inside a jail unless the spec says otherwise.
 */

import { MANUAL_JAIL } from '../core/ban.js';
import type { BanVerdict } from '../core/ban-list/schema.js';
import {
  DENY_ALL,
  type DenySpec,
  type IpProtocol,
  type PortRange,
  SIP_DENY,
} from '../core/deny-spec.js';
import { parseFilterSpec } from '../core/filters/filter-spec.js';
import { parseCidr } from '../core/ip-address.js';
import type { BantimeIncrement } from '../core/policy/ban-policy.js';
import { PERMANENT, parseDuration } from '../core/policy/duration.js';
import type { Parsed } from './parsed.js';

export type { BantimeIncrement } from '../core/policy/ban-policy.js';

export interface JailConfig {
  /** Unique, `[a-z0-9_-]`. */
  readonly name: string;
  /** Filter spec: built-in name with parameters, or a `.conf` path bundled with the deployment. */
  readonly filter: string;
  /** CloudWatch Logs log groups the jail reads. */
  readonly logGroups: readonly string[];
  readonly maxretry: number;
  /** ms. */
  readonly findtime: number;
  /** ms, or {@link PERMANENT}. */
  readonly bantime: number;
  /** Canonical CIDRs that never count and are never banned by this jail. */
  readonly ignoreip: readonly string[];
  readonly deny: DenySpec;
  /**
   * How the host tier (`cloudjail agent`) treats a banned source: `drop` silently (default:
   * scanners learn nothing) or `reject` (ICMP port-unreachable, TCP reset), as fail2ban's
   * `blocktype`. Absent = drop. The NACL tier always drops (a NACL deny has no reject).
   */
  readonly blocktype?: BanVerdict;
  /** Zone of log dates written without one (IANA name or UTC+hhmm). */
  readonly timezone: string;
  readonly increment: BantimeIncrement;
  /** Count distinct user names (`<F-USER>`) per address instead of failures; set only when true. */
  readonly distinctUsers?: true;
}

export const JAIL_DEFAULTS = {
  maxretry: 5,
  findtime: 600_000,
  bantime: 600_000,
  timezone: 'UTC',
} as const;

const JAIL_KEYS = new Set([
  'name',
  'filter',
  'logGroups',
  'maxretry',
  'findtime',
  'bantime',
  'ignoreip',
  'deny',
  'blocktype',
  'timezone',
  'bantime.increment',
  'bantime.factor',
  'bantime.multipliers',
  'bantime.maxtime',
  'bantime.overalljails',
  'distinctUsers',
]);

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An allowlist: array of addresses/CIDRs (or one space/comma separated string, as in
 * fail2ban). DNS names are rejected: cloudjail never resolves DNS.
 */
export function parseIgnoreList(raw: unknown, path: string): Parsed<string[]> {
  if (raw === undefined) return { value: [], problems: [] };
  const items =
    typeof raw === 'string'
      ? raw.split(/[\s,]+/).filter((s) => s !== '')
      : Array.isArray(raw)
        ? raw
        : undefined;
  if (!items) {
    return {
      value: undefined,
      problems: [`${path}: must be a list of IP addresses or CIDRs, got ${describe(raw)}`],
    };
  }
  const problems: string[] = [];
  const value: string[] = [];
  items.forEach((item, i) => {
    const cidr = typeof item === 'string' ? parseCidr(item) : undefined;
    if (!cidr) {
      problems.push(
        typeof item === 'string' && /[a-z]/i.test(item) && !item.includes(':')
          ? `${path}[${i}]: "${item}" is not an IP address or CIDR (DNS names are not resolved)`
          : `${path}[${i}]: ${describe(item)} is not an IP address or CIDR`,
      );
    } else value.push(cidr.text);
  });
  return { value, problems };
}

function parsePorts(text: string, path: string, problems: string[]): PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const from = Number(m?.[1]);
    const to = Number(m?.[2] ?? m?.[1]);
    if (!m || from < 1 || to > 65535 || from > to) {
      problems.push(`${path}: "${part}" is not a port or port range within 1-65535`);
      continue;
    }
    ranges.push({ from, to });
  }
  ranges.sort((a, b) => a.from - b.from);
  const merged: PortRange[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to + 1)
      merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, r.to) };
    else merged.push(r);
  }
  return merged;
}

/** `"all"` (default), `"sip"`, or `{ "ports": "5060,5061,5080-5081", "protocols": ["tcp","udp"] }`. */
export function parseDeny(raw: unknown, path: string): Parsed<DenySpec> {
  if (raw === undefined || raw === 'all') return { value: DENY_ALL, problems: [] };
  if (raw === 'sip') return { value: SIP_DENY, problems: [] };
  if (!isObject(raw)) {
    return {
      value: undefined,
      problems: [`${path}: must be "all", "sip" or {"ports", "protocols"}, got ${describe(raw)}`],
    };
  }
  const problems: string[] = [];
  const portsRaw = raw.ports;
  let ports: PortRange[] = [];
  if (typeof portsRaw === 'string' || typeof portsRaw === 'number') {
    ports = parsePorts(String(portsRaw), `${path}.ports`, problems);
  } else {
    problems.push(`${path}.ports: must be a string like "5060,5061,5080-5081"`);
  }
  const protoRaw = raw.protocols ?? ['tcp', 'udp'];
  const protocols: IpProtocol[] = [];
  if (!Array.isArray(protoRaw) || protoRaw.length === 0) {
    problems.push(`${path}.protocols: must be a non-empty list of "tcp" and/or "udp"`);
  } else {
    for (const p of protoRaw) {
      if (p === 'tcp' || p === 'udp') {
        if (!protocols.includes(p)) protocols.push(p);
      } else problems.push(`${path}.protocols: ${describe(p)} is not "tcp" or "udp"`);
    }
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'ports' && key !== 'protocols' && !key.startsWith('//'))
      problems.push(`${path}.${key}: unknown key`);
  }
  return { value: problems.length ? undefined : { kind: 'ports', ports, protocols }, problems };
}

function duration(
  raw: unknown,
  path: string,
  fallback: number,
  problems: string[],
  allowPermanent: boolean,
): number {
  if (raw === undefined) return fallback;
  const ms = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : undefined;
  if (ms === undefined) {
    problems.push(
      `${path}: ${describe(raw)} is not a duration (e.g. 600, 10m, 1h, 3d${allowPermanent ? ', -1' : ''})`,
    );
    return fallback;
  }
  if (ms === PERMANENT && !allowPermanent) {
    problems.push(`${path}: cannot be permanent (-1)`);
    return fallback;
  }
  if (ms === 0) {
    problems.push(`${path}: must be longer than 0`);
    return fallback;
  }
  return ms;
}

function parseJail(raw: unknown, path: string, problems: string[]): JailConfig | undefined {
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object, got ${describe(raw)}`);
    return undefined;
  }
  const start = problems.length;
  for (const key of Object.keys(raw)) {
    if (!JAIL_KEYS.has(key) && !key.startsWith('//')) problems.push(`${path}.${key}: unknown key`);
  }
  const name = raw.name;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
    problems.push(`${path}.name: ${describe(name)} must be 1-64 characters of a-z, 0-9, _ and -`);
  }
  if (name === MANUAL_JAIL) {
    problems.push(
      `${path}.name: "${MANUAL_JAIL}" is reserved (the jail of \`cloudjail ban\` without --jail); choose another name, e.g. "blacklist"`,
    );
  }
  // A jail that reads no log group exists for manual bans only (fail2ban users' "blacklist"
  // jail: `cloudjail ban --jail blacklist`): it needs no filter.
  const manualOnly =
    raw.filter === undefined && Array.isArray(raw.logGroups) && raw.logGroups.length === 0;
  const rawFilter = raw.filter ?? (typeof name === 'string' ? name : undefined);
  let filter = manualOnly ? '' : typeof rawFilter === 'string' ? rawFilter.trim() : '';
  if (manualOnly) {
    // No filter: the detector never loads one for this jail.
  } else if (filter === '') {
    problems.push(`${path}.filter: must be a filter spec like "freeswitch[mode=normal]"`);
    filter = '';
  } else {
    try {
      const spec = parseFilterSpec(filter);
      // fail2ban's jail.conf runs freeswitch in mode normal: challenges are not failures.
      if (spec.name === 'freeswitch' && spec.params.mode === undefined) {
        filter = Object.keys(spec.params).length
          ? `${filter.slice(0, -1)}, mode=normal]`
          : `${filter}[mode=normal]`;
      }
    } catch (e) {
      problems.push(`${path}.filter: ${(e as Error).message}`);
    }
  }
  const logGroups = raw.logGroups ?? [];
  if (
    !Array.isArray(logGroups) ||
    logGroups.some((g) => typeof g !== 'string' || !/^[\w./#-]{1,512}$/.test(g))
  ) {
    problems.push(`${path}.logGroups: must be a list of CloudWatch Logs log group names`);
  }
  let maxretry: number = JAIL_DEFAULTS.maxretry;
  if (raw.maxretry !== undefined) {
    if (typeof raw.maxretry === 'number' && Number.isInteger(raw.maxretry) && raw.maxretry >= 1)
      maxretry = raw.maxretry;
    else
      problems.push(`${path}.maxretry: must be a whole number >= 1, got ${describe(raw.maxretry)}`);
  }
  const findtime = duration(
    raw.findtime,
    `${path}.findtime`,
    JAIL_DEFAULTS.findtime,
    problems,
    false,
  );
  const bantime = duration(raw.bantime, `${path}.bantime`, JAIL_DEFAULTS.bantime, problems, true);
  const ignore = parseIgnoreList(raw.ignoreip, `${path}.ignoreip`);
  problems.push(...ignore.problems);
  const deny = parseDeny(raw.deny, `${path}.deny`);
  problems.push(...deny.problems);
  const blocktype = parseBlocktype(raw.blocktype, `${path}.blocktype`, problems);
  let timezone: string = JAIL_DEFAULTS.timezone;
  if (raw.timezone !== undefined) {
    if (typeof raw.timezone === 'string' && isValidZone(raw.timezone)) timezone = raw.timezone;
    else
      problems.push(`${path}.timezone: ${describe(raw.timezone)} is not an IANA zone or UTC+hhmm`);
  }
  const increment = parseIncrement(raw, path, problems);
  const distinct = raw.distinctUsers ?? false;
  if (typeof distinct !== 'boolean') problems.push(`${path}.distinctUsers: must be true or false`);
  if (problems.length > start) return undefined;
  return {
    name: name as string,
    filter,
    logGroups: logGroups as string[],
    maxretry,
    findtime,
    bantime,
    ignoreip: ignore.value ?? [],
    deny: deny.value ?? DENY_ALL,
    blocktype,
    timezone,
    increment,
    ...(distinct === true ? { distinctUsers: true as const } : {}),
  };
}

/** `"drop"` (default) or `"reject"`, any case (fail2ban configs write DROP / REJECT). */
function parseBlocktype(raw: unknown, path: string, problems: string[]): BanVerdict {
  if (raw === undefined) return 'drop';
  const value = typeof raw === 'string' ? raw.toLowerCase() : undefined;
  if (value === 'drop' || value === 'reject') return value;
  problems.push(
    `${path}: ${describe(raw)} must be "drop" (default: silently) or "reject" (ICMP port-unreachable / TCP reset)`,
  );
  return 'drop';
}

function isValidZone(zone: string): boolean {
  if (/^(?:UTC|GMT)?(?:[+-]\d{2}:?\d{2})?$/i.test(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function parseIncrement(
  raw: Record<string, unknown>,
  path: string,
  problems: string[],
): BantimeIncrement {
  const enabledRaw = raw['bantime.increment'] ?? false;
  if (typeof enabledRaw !== 'boolean')
    problems.push(`${path}.bantime.increment: must be true or false`);
  const factorRaw = raw['bantime.factor'] ?? 1;
  const factor = typeof factorRaw === 'number' && factorRaw > 0 ? factorRaw : 1;
  if (factor !== factorRaw) problems.push(`${path}.bantime.factor: must be a number > 0`);
  let multipliers: number[] | undefined;
  const mRaw = raw['bantime.multipliers'];
  if (mRaw !== undefined) {
    const list = typeof mRaw === 'string' ? mRaw.split(/\s+/).filter(Boolean).map(Number) : mRaw;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((n) => typeof n !== 'number' || !(n > 0))
    ) {
      problems.push(`${path}.bantime.multipliers: must be positive numbers, e.g. "1 2 4 8 16"`);
    } else multipliers = list as number[];
  }
  let maxtime: number | undefined;
  if (raw['bantime.maxtime'] !== undefined) {
    maxtime =
      duration(raw['bantime.maxtime'], `${path}.bantime.maxtime`, 0, problems, false) || undefined;
  }
  const overRaw = raw['bantime.overalljails'] ?? false;
  if (typeof overRaw !== 'boolean')
    problems.push(`${path}.bantime.overalljails: must be true or false`);
  return {
    enabled: enabledRaw === true,
    factor,
    ...(multipliers ? { multipliers } : {}),
    ...(maxtime !== undefined ? { maxtime } : {}),
    overalljails: overRaw === true,
  };
}

/** Parses the `jails` section; names must be unique. */
export function parseJails(raw: unknown, path = 'jails'): Parsed<JailConfig[]> {
  if (!Array.isArray(raw)) {
    return {
      value: undefined,
      problems: [`${path}: must be a list of jails, got ${describe(raw)}`],
    };
  }
  const problems: string[] = [];
  const jails: JailConfig[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item, i) => {
    const jail = parseJail(item, `${path}[${i}]`, problems);
    if (jail) jails.push(jail);
    // Duplicates are reported even when the jail has other problems.
    const name = isObject(item) ? item.name : undefined;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined)
      problems.push(`${path}[${i}].name: "${name}" is already used by ${path}[${first}]`);
    else seen.set(name, i);
  });
  return { value: problems.length ? undefined : jails, problems };
}
