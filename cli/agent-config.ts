/**
 * Generates the unified CloudWatch agent configuration that ships one SBC log file to the log group
 * a jail reads. The per-filter facts (timestamp format, where an event starts) are built-in
 * knowledge of the log formats; the jail (filter, log groups, timezone) comes from cdk.json.
 */
import { readFileSync } from 'node:fs';
import { filterBaseName, subscriptionFilterPattern } from '../lib/filter-patterns.js';
import { CONFIG_CONTEXT_KEY } from '../lib/outputs.js';
import { CliError, ExitCode } from './exit-codes.js';

/** How one log format is read by the CloudWatch agent. */
export interface LogFormat {
  /** strftime-like format of the agent (`%Y %m %d %H %M %S %f`…): the event time comes from it. */
  readonly timestampFormat: string;
  /** What the operator must know about this format. */
  readonly note: string;
}

/**
 * Built-in formats, keyed by filter name.
 * - freeswitch (mod_logfile): `2024-04-09 17:05:44.918273 [97.44% ][WARNING] …`, session lines may
 *   start with a call UUID, console captures with ANSI colour codes.
 * - asterisk (logger.conf `dateformat=%F %T` or `%F %T.%3q`): `[2024-04-09 17:10:03.412] NOTICE[…]`.
 *
 * No `multi_line_start_pattern`, deliberately: the agent then sends one event per physical line,
 * and the detector matches each line as fail2ban matches each line of the file. A start pattern
 * ("a line starting with a date") is one an attacker can satisfy: a raw newline in a field that can
 * hold one (an IAX2 peer name) followed by a fake date would start a forged event of the attacker's
 * making. FreeSWITCH's "Can't find user" continuation lines then arrive as events of their own and
 * match nothing. Where a field can hold a raw newline, the safe source is the JSON log format, one
 * record per physical line (docs/deploy.md, "Multi-line records").
 */
export const LOG_FORMATS: Readonly<Record<string, LogFormat>> = {
  freeswitch: {
    timestampFormat: '%Y-%m-%d %H:%M:%S.%f',
    note: 'enable <param name="log-auth-failures" value="true"/> in every Sofia profile',
  },
  asterisk: {
    timestampFormat: '%Y-%m-%d %H:%M:%S',
    note: 'set dateformat=%F %T.%3q in logger.conf [general] and log notice,warning,security to this file; with IAX2 enabled, log them in the [json] format and ship that file instead (docs/deploy.md)',
  },
};

/** What the generator needs to know about the jail. */
export interface AgentJail {
  readonly name: string;
  /** Filter spec, e.g. `freeswitch[mode=extra]`. */
  readonly filter: string;
  readonly logGroups: readonly string[];
  /** IANA zone of zone-less log dates (the jail's `timezone`; default UTC). */
  readonly timezone?: string;
}

export interface AgentConfigOptions {
  readonly jail: AgentJail;
  /** Log file on the SBC (globs allowed by the agent). */
  readonly file: string;
  /** Log group to ship to; default: the jail's first log group. */
  readonly logGroup?: string;
  /** Drop lines that cannot be failures on the host (same words as the subscription filter). */
  readonly prefilter?: boolean;
}

/** One `collect_list` entry of the agent configuration. */
export interface AgentCollectEntry {
  file_path: string;
  log_group_name: string;
  log_stream_name: string;
  timestamp_format: string;
  timezone: 'UTC' | 'Local';
  /** Never emitted by cloudjail (one event per physical line: docs/deploy.md "Multi-line records"). */
  multi_line_start_pattern?: string;
  filters?: { type: 'include'; expression: string }[];
}

export interface AgentConfig {
  logs: {
    logs_collected: { files: { collect_list: AgentCollectEntry[] } };
    force_flush_interval: number;
  };
}

/** Builds the agent configuration; throws CliError (bad input) when it cannot be done safely. */
export function buildAgentConfig(options: AgentConfigOptions): AgentConfig {
  const { jail } = options;
  const filterName = filterBaseName(jail.filter);
  const format = LOG_FORMATS[filterName];
  if (!format) {
    throw new CliError(
      `jail "${jail.name}": no built-in log format for filter "${filterName}" (known: ${Object.keys(LOG_FORMATS).join(', ')})`,
      ExitCode.BadInput,
    );
  }
  const logGroup = options.logGroup ?? jail.logGroups[0];
  if (!logGroup) {
    throw new CliError(
      `jail "${jail.name}" has no log group: add "logGroups" to the jail in cdk.json or pass --log-group`,
      ExitCode.BadInput,
    );
  }
  if (options.file.trim() === '') {
    throw new CliError('--file: empty path', ExitCode.BadInput);
  }
  const entry: AgentCollectEntry = {
    file_path: options.file,
    log_group_name: logGroup,
    log_stream_name: '{instance_id}',
    timestamp_format: format.timestampFormat,
    // The agent knows only UTC and the host's local zone.
    timezone: (jail.timezone ?? 'UTC').toUpperCase() === 'UTC' ? 'UTC' : 'Local',
  };
  if (options.prefilter) {
    const pattern = subscriptionFilterPattern([jail.filter]);
    if (pattern !== '') entry.filters = [{ type: 'include', expression: pattern.slice(1, -1) }];
  }
  return {
    logs: {
      logs_collected: { files: { collect_list: [entry] } },
      force_flush_interval: 5,
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finds a jail in cdk.json text (context.cloudjail.jails). Returns undefined when the file has no
 * such jail; throws CliError when the text is not usable.
 */
export function findJailInCdkJson(
  text: string,
  jailName: string,
  source: string,
): AgentJail | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `${source}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      ExitCode.BadInput,
    );
  }
  // A cdk.json (the configuration under context.cloudjail) or the configuration itself.
  const context = isRecord(json) ? json['context'] : undefined;
  const config = isRecord(context) ? context[CONFIG_CONTEXT_KEY] : json;
  const jails = isRecord(config) ? config['jails'] : undefined;
  if (!Array.isArray(jails)) return undefined;
  for (const [index, raw] of jails.entries()) {
    if (!isRecord(raw) || raw['name'] !== jailName) continue;
    const filter = raw['filter'] ?? jailName;
    const logGroups = raw['logGroups'] ?? [];
    if (typeof filter !== 'string') {
      throw new CliError(`${source}: jails[${index}].filter is not a string`, ExitCode.BadInput);
    }
    if (!Array.isArray(logGroups) || !logGroups.every((g) => typeof g === 'string')) {
      throw new CliError(
        `${source}: jails[${index}].logGroups is not a list of names`,
        ExitCode.BadInput,
      );
    }
    const timezone = raw['timezone'];
    return {
      name: jailName,
      filter,
      logGroups,
      ...(typeof timezone === 'string' ? { timezone } : {}),
    };
  }
  return undefined;
}

/**
 * The jail to generate for: from the cdk.json at `configPath` when it defines it, else built-in
 * knowledge (filter = jail name) when `logGroup` is given.
 */
export function resolveAgentJail(
  jailName: string,
  configPath: string,
  logGroup: string | undefined,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): AgentJail {
  let text: string | undefined;
  try {
    text = readFile(configPath);
  } catch {
    text = undefined;
  }
  const jail = text === undefined ? undefined : findJailInCdkJson(text, jailName, configPath);
  if (jail) return jail;
  if (LOG_FORMATS[jailName] && logGroup) {
    return { name: jailName, filter: jailName, logGroups: [logGroup] };
  }
  const where =
    text === undefined
      ? `${configPath} could not be read`
      : `no jail "${jailName}" in ${configPath}`;
  throw new CliError(
    LOG_FORMATS[jailName]
      ? `${where}: pass --log-group to use the built-in "${jailName}" format`
      : `${where} (built-in formats: ${Object.keys(LOG_FORMATS).join(', ')})`,
    text === undefined ? ExitCode.BadInput : ExitCode.NotFound,
  );
}
