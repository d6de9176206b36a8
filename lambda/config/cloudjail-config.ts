/**
 * The top-level cloudjail configuration: what users write under the `cloudjail` key of `cdk.json`
 * context. It is validated here, completely (architecture invariant 9), by the CDK app at synth time
 * AND by the Lambdas at cold start, so both sides agree on what is valid.
 *
 * The sections are parsed by their owners' parsers (jails and ignore list: jail-config.ts; NACL
 * targets and enforcement settings: target-config.ts); this module adds the deployment-only
 * sections (`notifications`, `logGroups`), rejects unknown keys (typos) and gathers EVERY problem
 * into one ConfigError.
 */
import { ConfigError } from '../core/errors.js';
import { type AgentsSettings, parseAgentsSettings } from './agents-config.js';
import { type JailConfig, parseIgnoreList, parseJails } from './jail-config.js';
import type { Parsed } from './parsed.js';
import {
  type EnforcementSettings,
  type NaclTarget,
  parseEnforcement,
  parseTargets,
} from './target-config.js';

/** Where ban/unban notifications go. */
export interface NotificationSettings {
  /** E-mail address subscribed to the ban/unban topic (and the alarm topic); none when absent. */
  readonly email?: string;
}

/** One CloudWatch Logs log group the detector subscribes to. */
export interface LogGroupSettings {
  readonly name: string;
  /** True: the stack creates the group. False (default): it already exists and is imported by name. */
  readonly create: boolean;
  /** Retention of a created group, in days (default 30). Ignored for existing groups. */
  readonly retentionDays: number;
  /** Names of the jails reading this group (at least one). */
  readonly jails: readonly string[];
}

/** The whole validated configuration. */
export interface CloudjailConfig {
  readonly jails: readonly JailConfig[];
  /** Global allowlist applying to every jail. */
  readonly ignoreip: readonly string[];
  readonly targets: readonly NaclTarget[];
  readonly enforcement: EnforcementSettings;
  readonly notifications: NotificationSettings;
  /** Every log group referenced by a jail, in first-use order, with its creation settings. */
  readonly logGroups: readonly LogGroupSettings[];
  /** The host tier (agents-config.ts). */
  readonly agents: AgentsSettings;
}

/** Top-level keys; anything else (except `//…` comment keys) is reported as a likely typo. */
const KNOWN_KEYS = [
  'jails',
  'ignoreip',
  'targets',
  'enforcement',
  'notifications',
  'logGroups',
  'agents',
] as const;

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Default retention of log groups the stack creates. */
export const DEFAULT_LOG_GROUP_RETENTION_DAYS = 30;

// CloudWatch Logs: 1-512 characters of [.-_/#A-Za-z0-9] (CreateLogGroup API).
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
// Deliberately simple: one @, no spaces, a dot in the domain. SNS does the real check by mail.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** Parses the optional `notifications` section. */
export function parseNotifications(
  raw: unknown,
  path = 'notifications',
): Parsed<NotificationSettings> {
  if (raw === undefined || raw === null) return { value: {}, problems: [] };
  if (!isRecord(raw)) return { value: undefined, problems: [`${path}: must be an object`] };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (key !== 'email' && !key.startsWith('//')) {
      problems.push(`${path}.${key}: unknown key (expected "email")`);
    }
  }
  const email = raw['email'];
  if (email === undefined || email === null || email === '') {
    return { value: {}, problems };
  }
  if (typeof email !== 'string' || !EMAIL.test(email)) {
    problems.push(`${path}.email: ${describe(email)} is not an e-mail address`);
    return { value: undefined, problems };
  }
  return { value: { email }, problems };
}

interface RawLogGroupSettings {
  readonly create: boolean;
  readonly retentionDays: number;
}

/**
 * Parses the optional `logGroups` section: `{ "<name>": { "create": true, "retentionDays": 30 } }`.
 * Groups not listed here but used by a jail are existing groups, imported by name.
 */
export function parseLogGroupSettings(
  raw: unknown,
  path = 'logGroups',
): Parsed<Map<string, RawLogGroupSettings>> {
  const result = new Map<string, RawLogGroupSettings>();
  if (raw === undefined || raw === null) return { value: result, problems: [] };
  if (!isRecord(raw)) {
    return {
      value: undefined,
      problems: [`${path}: must be an object mapping log group names to settings`],
    };
  }
  const problems: string[] = [];
  for (const [name, settings] of Object.entries(raw)) {
    if (name.startsWith('//')) continue;
    const at = `${path}[${JSON.stringify(name)}]`;
    if (!LOG_GROUP_NAME.test(name)) {
      problems.push(
        `${at}: not a valid log group name (1-512 characters of A-Z a-z 0-9 . - _ / #)`,
      );
    }
    if (!isRecord(settings)) {
      problems.push(`${at}: must be an object like { "create": true, "retentionDays": 30 }`);
      continue;
    }
    for (const key of Object.keys(settings)) {
      if (key !== 'create' && key !== 'retentionDays' && !key.startsWith('//')) {
        problems.push(`${at}.${key}: unknown key (expected "create" or "retentionDays")`);
      }
    }
    const create = settings['create'] ?? false;
    if (typeof create !== 'boolean') {
      problems.push(`${at}.create: ${describe(create)} is not true or false`);
    }
    const retention = settings['retentionDays'] ?? DEFAULT_LOG_GROUP_RETENTION_DAYS;
    if (!(LOG_RETENTION_DAYS as readonly unknown[]).includes(retention)) {
      problems.push(
        `${at}.retentionDays: ${describe(retention)} is not a CloudWatch Logs retention (one of ${LOG_RETENTION_DAYS.join(', ')})`,
      );
    } else if (create !== true && settings['retentionDays'] !== undefined) {
      problems.push(
        `${at}.retentionDays: only applies to a group the stack creates (set "create": true)`,
      );
    }
    result.set(name, { create: create === true, retentionDays: retention as number });
  }
  return { value: result, problems };
}

/**
 * Parses and validates the whole configuration, returning every problem (paths like
 * `jails[1].findtime: …`). `value` is set only when there is no problem at all.
 */
export function parseCloudjailConfig(raw: unknown): Parsed<CloudjailConfig> {
  if (!isRecord(raw)) {
    return {
      value: undefined,
      problems: [
        `the cloudjail configuration must be an object with "jails", "targets", ... (got ${describe(raw)})`,
      ],
    };
  }
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key) && !key.startsWith('//')) {
      problems.push(`${key}: unknown key (expected one of ${KNOWN_KEYS.join(', ')})`);
    }
  }
  const jails = parseJails(raw['jails'], 'jails');
  const ignoreip = parseIgnoreList(raw['ignoreip'] ?? [], 'ignoreip');
  const targets = parseTargets(raw['targets'], 'targets');
  const enforcement = parseEnforcement(raw['enforcement'] ?? {}, 'enforcement');
  const notifications = parseNotifications(raw['notifications']);
  const logGroupSettings = parseLogGroupSettings(raw['logGroups']);
  const agents = parseAgentsSettings(raw['agents']);
  problems.push(
    ...jails.problems,
    ...ignoreip.problems,
    ...targets.problems,
    ...enforcement.problems,
    ...notifications.problems,
    ...logGroupSettings.problems,
    ...agents.problems,
  );

  const logGroups: LogGroupSettings[] = [];
  if (jails.value && logGroupSettings.value) {
    const byName = new Map<string, { settings: RawLogGroupSettings; jails: string[] }>();
    for (const [index, jail] of jails.value.entries()) {
      if (jail.logGroups.length === 0 && jail.filter !== '') {
        problems.push(
          `jails[${index}].logGroups: jail "${jail.name}" has a filter but reads no log group (a jail for manual bans only has neither)`,
        );
      }
      for (const name of jail.logGroups) {
        if (!LOG_GROUP_NAME.test(name)) {
          problems.push(
            `jails[${index}].logGroups: ${describe(name)} is not a valid log group name`,
          );
          continue;
        }
        const entry = byName.get(name) ?? {
          settings: logGroupSettings.value.get(name) ?? {
            create: false,
            retentionDays: DEFAULT_LOG_GROUP_RETENTION_DAYS,
          },
          jails: [],
        };
        if (!entry.jails.includes(jail.name)) entry.jails.push(jail.name);
        byName.set(name, entry);
      }
    }
    for (const name of logGroupSettings.value.keys()) {
      if (!byName.has(name)) {
        problems.push(
          `logGroups[${JSON.stringify(name)}]: no jail reads this log group (add it to a jail's "logGroups")`,
        );
      }
    }
    for (const [name, { settings, jails: names }] of byName) {
      logGroups.push({ name, ...settings, jails: names });
    }
  }

  if (
    problems.length > 0 ||
    !jails.value ||
    !ignoreip.value ||
    !targets.value ||
    !enforcement.value ||
    !notifications.value ||
    !agents.value
  ) {
    return {
      value: undefined,
      problems: problems.length > 0 ? problems : ['configuration could not be read'],
    };
  }
  return {
    value: {
      jails: jails.value,
      ignoreip: ignoreip.value,
      targets: targets.value,
      enforcement: enforcement.value,
      notifications: notifications.value,
      logGroups,
      agents: agents.value,
    },
    problems: [],
  };
}

/** Like parseCloudjailConfig, but throws one ConfigError listing every problem. */
export function loadCloudjailConfig(raw: unknown): CloudjailConfig {
  const parsed = parseCloudjailConfig(raw);
  if (!parsed.value || parsed.problems.length > 0) {
    throw new ConfigError(parsed.problems, 'cloudjail configuration');
  }
  return parsed.value;
}
