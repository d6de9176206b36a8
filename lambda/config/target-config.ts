/**
 * Enforcement targets (the network ACLs bans go to) and enforcement settings, validated with every
 * problem reported at once (architecture invariant 9).
 *
 * Each NACL gets a reserved band of rule numbers per IP family. cloudjail never creates, replaces
 * or deletes an entry outside its bands (invariant 3), so the bands must lie within 1-32766, be
 * disjoint, and sit below every allow rule (first match wins) — checked against
 * `lowestAllowRule` when given.
 */
import type { Parsed } from './parsed.js';

/** Inclusive rule-number range reserved for cloudjail. */
export interface RuleBand {
  readonly first: number;
  readonly last: number;
}

export interface NaclTarget {
  /** `acl-` + 8 or 17 hex digits. */
  readonly naclId: string;
  readonly ipv4Band: RuleBand;
  readonly ipv6Band: RuleBand;
  /** Always inbound: bans drop traffic entering the subnet. */
  readonly direction: 'inbound';
  /** Lowest rule number of the NACL's allow rules, when known: bands must be below it. */
  readonly lowestAllowRule?: number;
  /** Foreign entries found inside a band: report and keep (default), or adopt (remove) them. */
  readonly adoptForeign: boolean;
}

export interface AggregationSettings {
  /** Aggregate IPv4 bans into this prefix (e.g. 24). */
  readonly ipv4Prefix: number;
  /** Aggregate IPv6 bans into this prefix (e.g. 64). */
  readonly ipv6Prefix: number;
  /** Aggregate only when at least this many active bans share the prefix. */
  readonly minBans: number;
}

export interface EnforcementSettings {
  /** EventBridge Scheduler expression of the periodic run. */
  readonly schedule: string;
  /** Cap on NACL mutations per run (EC2 mutating calls: burst 50, then 5/s per account). */
  readonly maxMutationsPerRun: number;
  /** Compute and report, never mutate. */
  readonly dryRun: boolean;
  /** Off unless set. */
  readonly aggregate?: AggregationSettings;
  /** NACL rules per direction per IP family, default deny included (AWS default 20, max 40). */
  readonly ruleQuota: number;
  /**
   * The enforcer refuses (reports, never enforces) a ban broader than this prefix, whoever wrote
   * it (core/enforcement/screen-bans.ts). Default /16 IPv4, /48 IPv6; absent = the defaults.
   */
  readonly minBanPrefix?: { readonly ipv4: number; readonly ipv6: number };
}

export const ENFORCEMENT_DEFAULTS = {
  schedule: 'rate(1 minute)',
  maxMutationsPerRun: 40,
  dryRun: false,
  ruleQuota: 20,
} as const;

const MAX_RULE = 32766;

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseBand(raw: unknown, path: string, problems: string[]): RuleBand | undefined {
  if (
    !Array.isArray(raw) ||
    raw.length !== 2 ||
    !raw.every((n) => typeof n === 'number' && Number.isInteger(n))
  ) {
    problems.push(`${path}: must be [first, last] rule numbers, got ${describe(raw)}`);
    return undefined;
  }
  const [first, last] = raw as [number, number];
  if (first < 1 || last > MAX_RULE || first > last) {
    problems.push(`${path}: [${first}, ${last}] must satisfy 1 <= first <= last <= ${MAX_RULE}`);
    return undefined;
  }
  return { first, last };
}

const TARGET_KEYS = new Set(['naclId', 'ipv4Band', 'ipv6Band', 'lowestAllowRule', 'adoptForeign']);

function parseTarget(raw: unknown, path: string, problems: string[]): NaclTarget | undefined {
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object, got ${describe(raw)}`);
    return undefined;
  }
  const start = problems.length;
  for (const key of Object.keys(raw)) {
    if (!TARGET_KEYS.has(key) && !key.startsWith('//'))
      problems.push(`${path}.${key}: unknown key`);
  }
  const naclId = raw.naclId;
  if (typeof naclId !== 'string' || !/^acl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(naclId)) {
    problems.push(
      `${path}.naclId: ${describe(naclId)} is not a network ACL id (acl-0123456789abcdef0)`,
    );
  }
  const v4 = parseBand(raw.ipv4Band ?? [1, 18], `${path}.ipv4Band`, problems);
  const v6 = parseBand(raw.ipv6Band ?? [19, 36], `${path}.ipv6Band`, problems);
  if (v4 && v6 && v4.first <= v6.last && v6.first <= v4.last) {
    problems.push(
      `${path}: ipv4Band [${v4.first}, ${v4.last}] and ipv6Band [${v6.first}, ${v6.last}] overlap`,
    );
  }
  let lowestAllowRule: number | undefined;
  if (raw.lowestAllowRule !== undefined) {
    const n = raw.lowestAllowRule;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_RULE) {
      problems.push(`${path}.lowestAllowRule: must be a rule number within 1-${MAX_RULE}`);
    } else {
      lowestAllowRule = n;
      for (const [name, band] of [
        ['ipv4Band', v4],
        ['ipv6Band', v6],
      ] as const) {
        if (band && band.last >= n) {
          problems.push(
            `${path}.${name}: [${band.first}, ${band.last}] must end below the lowest allow rule ${n} (first match wins)`,
          );
        }
      }
    }
  }
  const adopt = raw.adoptForeign ?? false;
  if (typeof adopt !== 'boolean') problems.push(`${path}.adoptForeign: must be true or false`);
  if (problems.length > start || !v4 || !v6) return undefined;
  return {
    naclId: naclId as string,
    ipv4Band: v4,
    ipv6Band: v6,
    direction: 'inbound',
    ...(lowestAllowRule !== undefined ? { lowestAllowRule } : {}),
    adoptForeign: adopt === true,
  };
}

/** Parses the `targets` section: at least one NACL, each listed once. */
export function parseTargets(raw: unknown, path = 'targets'): Parsed<NaclTarget[]> {
  if (!Array.isArray(raw) || raw.length === 0) {
    return {
      value: undefined,
      problems: [`${path}: must be a non-empty list of network ACL targets, got ${describe(raw)}`],
    };
  }
  const problems: string[] = [];
  const targets: NaclTarget[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item, i) => {
    const t = parseTarget(item, `${path}[${i}]`, problems);
    if (t) targets.push(t);
    // Duplicates are reported even when the target has other problems.
    const id = isObject(item) ? item.naclId : undefined;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first !== undefined)
      problems.push(`${path}[${i}].naclId: ${id} is already ${path}[${first}]`);
    else seen.set(id, i);
  });
  return { value: problems.length ? undefined : targets, problems };
}

const ENFORCEMENT_KEYS = new Set([
  'schedule',
  'maxMutationsPerRun',
  'dryRun',
  'aggregate',
  'ruleQuota',
  'minBanPrefix',
]);

/** Parses the `enforcement` section (all keys optional). */
export function parseEnforcement(raw: unknown, path = 'enforcement'): Parsed<EnforcementSettings> {
  if (raw === undefined) {
    return {
      value: { ...ENFORCEMENT_DEFAULTS, minBanPrefix: { ipv4: 16, ipv6: 48 } },
      problems: [],
    };
  }
  if (!isObject(raw)) return { value: undefined, problems: [`${path}: must be an object`] };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!ENFORCEMENT_KEYS.has(key) && !key.startsWith('//'))
      problems.push(`${path}.${key}: unknown key`);
  }
  const schedule = raw.schedule ?? ENFORCEMENT_DEFAULTS.schedule;
  if (
    typeof schedule !== 'string' ||
    !/^(?:rate\(\s*\d+\s+(?:minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/.test(schedule)
  ) {
    problems.push(`${path}.schedule: ${describe(schedule)} is not rate(N minutes) or cron(...)`);
  }
  const max = raw.maxMutationsPerRun ?? ENFORCEMENT_DEFAULTS.maxMutationsPerRun;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 500) {
    problems.push(`${path}.maxMutationsPerRun: must be a whole number within 1-500`);
  }
  const dryRun = raw.dryRun ?? false;
  if (typeof dryRun !== 'boolean') problems.push(`${path}.dryRun: must be true or false`);
  const quota = raw.ruleQuota ?? ENFORCEMENT_DEFAULTS.ruleQuota;
  if (typeof quota !== 'number' || !Number.isInteger(quota) || quota < 2 || quota > 40) {
    problems.push(`${path}.ruleQuota: must be within 2-40 (AWS default 20, maximum 40)`);
  }
  const minBanPrefix = { ipv4: 16, ipv6: 48 };
  if (raw.minBanPrefix !== undefined) {
    const m = raw.minBanPrefix;
    if (!isObject(m))
      problems.push(`${path}.minBanPrefix: must be an object {"ipv4": 16, "ipv6": 48}`);
    else {
      for (const key of Object.keys(m)) {
        if (key !== 'ipv4' && key !== 'ipv6' && !key.startsWith('//'))
          problems.push(`${path}.minBanPrefix.${key}: unknown key`);
      }
      const v4 = m.ipv4 ?? 16;
      const v6 = m.ipv6 ?? 48;
      if (typeof v4 !== 'number' || !Number.isInteger(v4) || v4 < 1 || v4 > 32) {
        problems.push(`${path}.minBanPrefix.ipv4: must be within 1-32, got ${describe(v4)}`);
      } else minBanPrefix.ipv4 = v4;
      if (typeof v6 !== 'number' || !Number.isInteger(v6) || v6 < 1 || v6 > 128) {
        problems.push(`${path}.minBanPrefix.ipv6: must be within 1-128, got ${describe(v6)}`);
      } else minBanPrefix.ipv6 = v6;
    }
  }
  let aggregate: AggregationSettings | undefined;
  if (raw.aggregate !== undefined) {
    const a = raw.aggregate;
    if (!isObject(a)) problems.push(`${path}.aggregate: must be an object`);
    else {
      const v4 = a.ipv4Prefix ?? 24;
      const v6 = a.ipv6Prefix ?? 64;
      const min = a.minBans ?? 3;
      if (typeof v4 !== 'number' || !Number.isInteger(v4) || v4 < 8 || v4 > 31) {
        problems.push(`${path}.aggregate.ipv4Prefix: must be within 8-31`);
      }
      if (typeof v6 !== 'number' || !Number.isInteger(v6) || v6 < 16 || v6 > 127) {
        problems.push(`${path}.aggregate.ipv6Prefix: must be within 16-127`);
      }
      if (typeof min !== 'number' || !Number.isInteger(min) || min < 2) {
        problems.push(`${path}.aggregate.minBans: must be a whole number >= 2`);
      }
      aggregate = { ipv4Prefix: v4 as number, ipv6Prefix: v6 as number, minBans: min as number };
      if (typeof v4 === 'number' && v4 < minBanPrefix.ipv4) {
        problems.push(
          `${path}.aggregate.ipv4Prefix: /${v4} is broader than minBanPrefix.ipv4 /${minBanPrefix.ipv4} (the enforcer would refuse the aggregate)`,
        );
      }
      if (typeof v6 === 'number' && v6 < minBanPrefix.ipv6) {
        problems.push(
          `${path}.aggregate.ipv6Prefix: /${v6} is broader than minBanPrefix.ipv6 /${minBanPrefix.ipv6} (the enforcer would refuse the aggregate)`,
        );
      }
    }
  }
  if (problems.length) return { value: undefined, problems };
  return {
    value: {
      schedule: schedule as string,
      maxMutationsPerRun: max as number,
      dryRun: dryRun as boolean,
      ruleQuota: quota as number,
      minBanPrefix,
      ...(aggregate ? { aggregate } : {}),
    },
    problems,
  };
}
