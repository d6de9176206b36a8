/**
 * The log event source on CloudWatch Logs: FilterLogEvents, following `nextToken` until the last
 * page (a page may be empty and still carry a token). The client decides where it goes (AWS, or
 * the local endpoint of the embedded mode).
 */
import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { LogEventQuery, LogEventSource, StoredLogEvent } from '../ports/log-events.js';

export class CloudWatchLogEvents implements LogEventSource {
  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly onPage?: (events: number, pages: number) => void,
  ) {}

  async *events(query: LogEventQuery): AsyncGenerator<StoredLogEvent> {
    let nextToken: string | undefined;
    let events = 0;
    let pages = 0;
    do {
      const page = await this.client.send(
        new FilterLogEventsCommand({
          logGroupName: query.logGroup,
          startTime: query.startTime,
          endTime: query.endTime,
          ...(query.filterPattern !== undefined ? { filterPattern: query.filterPattern } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      pages++;
      for (const e of page.events ?? []) {
        if (e.eventId === undefined || e.timestamp === undefined || e.message === undefined)
          continue;
        events++;
        yield {
          logStream: e.logStreamName ?? '',
          id: e.eventId,
          timestamp: e.timestamp,
          message: e.message,
        };
      }
      this.onPage?.(events, pages);
      nextToken = page.nextToken;
    } while (nextToken);
  }
}
