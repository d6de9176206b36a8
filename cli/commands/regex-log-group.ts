/**
 * `cloudjail regex --log-group <name>`: the input of fail2ban-regex read from a live log group
 * through FilterLogEvents (paginated, `--since`, `--filter-pattern`), with a progress line on a
 * terminal. The events' messages, in CloudWatch's order, become the log text the file path of
 * `regex` matches (a multi-line event gives its physical lines back), so the statistics and the
 * `--json` contract are those of `regex` on the file that was shipped.
 *
 * Loaded only for `--log-group` (cli/cloudjail.js runs that form through tsx, not through the
 * fast `regex` bundle, which stays free of the AWS SDK).
 */
import type { CloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { durationOption } from '../input.js';
import { filterLogEvents, openLogs, progressLine } from '../logs-connection.js';

export interface LogGroupSource {
  readonly logGroup: string;
  readonly since?: string;
  readonly filterPattern?: string;
  readonly local?: boolean;
  readonly state?: string;
  readonly region?: string;
}

export interface LogGroupInput {
  /** Text chunks ending at a line end. */
  readonly chunks: AsyncIterable<string>;
  /** What `Use log file` names. */
  readonly label: string;
  /** With --local: the server's configuration (the default filter of the group's jail). */
  readonly config?: CloudjailConfig;
  close(): void;
}

const CHUNK_CHARS = 1 << 20;

export async function openLogGroupInput(source: LogGroupSource): Promise<LogGroupInput> {
  const since = durationOption(source.since ?? '1h', '--since');
  const conn = await openLogs(source);
  let config: CloudjailConfig | undefined;
  if (conn.state) {
    const { loadCloudjailConfig } = await import('../../lambda/config/cloudjail-config.js');
    config = loadCloudjailConfig(conn.state.config);
  }
  const startTime = Date.now() - since;
  const progress = progressLine(`FilterLogEvents ${source.logGroup}`);
  async function* chunks(): AsyncGenerator<string> {
    let text = '';
    try {
      for await (const event of filterLogEvents(
        conn.client,
        {
          logGroup: source.logGroup,
          startTime,
          ...(source.filterPattern !== undefined ? { filterPattern: source.filterPattern } : {}),
        },
        (events, pages) => progress.update(events, pages),
      )) {
        text += `${event.message ?? ''}\n`;
        if (text.length >= CHUNK_CHARS) {
          yield text;
          text = '';
        }
      }
      if (text !== '') yield text;
    } finally {
      progress.done();
    }
  }
  return {
    chunks: chunks(),
    label: `log group ${source.logGroup} (${conn.where}, since ${new Date(startTime).toISOString()}${source.filterPattern ? `, filter pattern ${JSON.stringify(source.filterPattern)}` : ''})`,
    ...(config ? { config } : {}),
    close: () => conn.close(),
  };
}

/** The filter of the jail reading `logGroup` (when the filter argument is left out). */
export function filterOfLogGroup(config: CloudjailConfig | undefined, logGroup: string): string {
  const jails = config?.jails.filter((j) => j.logGroups.includes(logGroup)) ?? [];
  if (jails.length === 1) return (jails[0] as { filter: string }).filter;
  throw new CliError(
    jails.length > 1
      ? `--log-group ${logGroup} is read by several jails (${jails.map((j) => j.name).join(', ')}): pass the filter`
      : `--log-group ${logGroup}: pass the filter to test (e.g. freeswitch[mode=extra])`,
    ExitCode.BadInput,
  );
}
