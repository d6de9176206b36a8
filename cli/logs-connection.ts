/**
 * The CloudWatch Logs side of a CLI command: one `@aws-sdk/client-cloudwatch-logs` client, for a
 * deployed account (the standard credential chain and Region; `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`
 * like any SDK client) or for the `cloudjail local` server's endpoint (`--local`, from its state
 * file). Everything else (`ship`, `regex --log-group`, `backfill`, `doctor`) is the same code for
 * both: endpoint injection only. Also the paginated FilterLogEvents reader they share.
 */

import type {
  CloudWatchLogsClient,
  FilteredLogEvent,
  FilterLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { LOCAL_CREDENTIALS } from '../local/loopback-server.js';
import {
  type ConnectionOptions,
  defaultStatePath,
  type LocalState,
  readLocalState,
} from './context.js';
import { CliError, ExitCode } from './exit-codes.js';

export interface LogsConnection {
  readonly client: CloudWatchLogsClient;
  /** For messages. */
  readonly where: string;
  /** With --local: the server's state (its configuration, the other endpoints). */
  readonly state?: LocalState;
  close(): void;
}

export async function openLogs(options: ConnectionOptions): Promise<LogsConnection> {
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  if (options.local) {
    const path = options.state ?? defaultStatePath();
    const state = readLocalState(path);
    if (!state.logs) {
      throw new CliError(
        `${path}: the local server has no CloudWatch Logs endpoint (restart \`cloudjail local\` with this version)`,
        ExitCode.NotFound,
      );
    }
    const client = new CloudWatchLogsClient({
      region: state.logs.region,
      endpoint: state.logs.endpoint,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 3,
    });
    return { client, where: `local server (state ${path})`, state, close: () => client.destroy() };
  }
  const client = new CloudWatchLogsClient(options.region ? { region: options.region } : {});
  return { client, where: 'CloudWatch Logs', close: () => client.destroy() };
}

/** A CloudWatch Logs error as one line, with what to do for the common ones. */
export function logsErrorMessage(e: unknown, what: string): string {
  const err = e as { name?: string; message?: string };
  const name = err.name ?? 'Error';
  if (name === 'ResourceNotFoundException') return `${what}: ${err.message ?? 'not found'}`;
  if (/CredentialsProviderError|ExpiredToken|UnrecognizedClient/.test(name)) {
    return `${what}: no usable AWS credentials (${name}); set AWS_PROFILE or use --local`;
  }
  if (/Region is missing/i.test(err.message ?? '')) {
    return `${what}: no AWS Region: pass --region or set AWS_REGION`;
  }
  return `${what}: ${name}: ${err.message ?? String(e)}`;
}

export interface FilterQuery {
  readonly logGroup: string;
  readonly startTime?: number;
  readonly endTime?: number;
  readonly filterPattern?: string;
  readonly logStreamNames?: readonly string[];
}

/**
 * Every event of a FilterLogEvents query, page after page (`nextToken`), in the order CloudWatch
 * returns them; `onPage` sees the running count (progress display).
 */
export async function* filterLogEvents(
  client: CloudWatchLogsClient,
  query: FilterQuery,
  onPage?: (events: number, pages: number) => void,
): AsyncGenerator<FilteredLogEvent> {
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  let nextToken: string | undefined;
  let events = 0;
  let pages = 0;
  do {
    let page: FilterLogEventsCommandOutput;
    try {
      page = await client.send(
        new FilterLogEventsCommand({
          logGroupName: query.logGroup,
          ...(query.startTime !== undefined ? { startTime: query.startTime } : {}),
          ...(query.endTime !== undefined ? { endTime: query.endTime } : {}),
          ...(query.filterPattern !== undefined ? { filterPattern: query.filterPattern } : {}),
          ...(query.logStreamNames ? { logStreamNames: [...query.logStreamNames] } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
      );
    } catch (e) {
      const code =
        (e as { name?: string }).name === 'ResourceNotFoundException'
          ? ExitCode.NotFound
          : ExitCode.Failure;
      throw new CliError(logsErrorMessage(e, `log group ${query.logGroup}`), code);
    }
    pages++;
    for (const event of page.events ?? []) {
      events++;
      yield event;
    }
    onPage?.(events, pages);
    nextToken = page.nextToken;
  } while (nextToken);
}

/** A stderr progress line for long reads, on a terminal only. */
export function progressLine(label: string): {
  update(events: number, pages: number): void;
  done(): void;
} {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(events, pages) {
      if (!tty) return;
      shown = true;
      process.stderr.write(`\r${label}: ${events} event(s), ${pages} page(s)`);
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[K');
    },
  };
}
