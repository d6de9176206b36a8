/**
 * Builders of CloudWatch Logs subscription events (`{ awslogs: { data } }`, data = base64 of gzip
 * of the JSON batch), CloudWatch-style event ids and FreeSWITCH/Asterisk log lines.
 */
import { gzipSync } from 'node:zlib';

export interface PayloadEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface PayloadOptions {
  readonly logGroup: string;
  readonly logStream?: string;
  readonly events: readonly unknown[];
  readonly messageType?: string;
  readonly owner?: string;
}

/** base64(gzip(JSON)) — what CloudWatch Logs puts into `awslogs.data`. */
export function encodeAwslogsData(json: unknown): string {
  return gzipSync(Buffer.from(JSON.stringify(json), 'utf8')).toString('base64');
}

/** The JSON body of a DATA_MESSAGE (or another messageType). */
export function subscriptionBody(options: PayloadOptions): Record<string, unknown> {
  return {
    messageType: options.messageType ?? 'DATA_MESSAGE',
    owner: options.owner ?? '123456789012',
    logGroup: options.logGroup,
    logStream: options.logStream ?? 'i-0123456789abcdef0',
    subscriptionFilters: ['cloudjail'],
    logEvents: options.events,
  };
}

/** A subscription event as Lambda receives it. */
export function subscriptionEvent(options: PayloadOptions): { awslogs: { data: string } } {
  return { awslogs: { data: encodeAwslogsData(subscriptionBody(options)) } };
}

/** CloudWatch's reachability check. */
export function controlMessageEvent(): { awslogs: { data: string } } {
  return {
    awslogs: {
      data: encodeAwslogsData({
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [
          {
            id: '',
            timestamp: 0,
            message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.',
          },
        ],
      }),
    },
  };
}

/** A 56-digit CloudWatch-style event id, unique per (stream, n). */
export function eventId(n: number, stream = 0): string {
  return `${String(stream).padStart(8, '0')}${String(n).padStart(48, '0')}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2024-04-09 17:06:10.000300` in UTC (jails in these tests run with timezone UTC). */
export function logDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`;
}

/** A FreeSWITCH ≥ 1.10.7 auth failure for `address` (matched by the built-in `freeswitch` filter). */
export function freeswitchFailure(ms: number, address: string, user = '1001'): string {
  return `${logDate(ms)} 97.53% [WARNING] sofia_reg.c:1755 SIP auth failure (REGISTER) on sofia profile 'internal' for [${user}@sip.example.com] from ip ${address}`;
}

/** A FreeSWITCH line that is no failure. */
export function freeswitchNoise(ms: number, n = 0): string {
  return `${logDate(ms)} 91.10% [NOTICE] sofia_reg.c:1723 Registered user ${1000 + (n % 9000)}@sip.example.com from 192.0.2.${1 + (n % 250)}:5060`;
}

/** An Asterisk chan_sip failure for `address`. */
export function asteriskFailure(ms: number, address: string): string {
  const d = logDate(ms).slice(0, 19);
  return `[${d}] NOTICE[1638] chan_sip.c: Registration from '<sip:301@example.com>' failed for '${address}:5060' - Wrong password`;
}

/** Events with consecutive ids; `timestamp` defaults to the line's own time. */
export function events(
  lines: readonly { readonly time: number; readonly message: string }[],
  firstId = 0,
  stream = 0,
): PayloadEvent[] {
  return lines.map((l, i) => ({
    id: eventId(firstId + i, stream),
    timestamp: l.time,
    message: l.message,
  }));
}
