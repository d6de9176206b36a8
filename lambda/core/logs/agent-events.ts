/**
 * How the CloudWatch agent turns a log file into log events, for one `collect_list` entry of the
 * configuration `cloudjail agent-config` prints (cli/agent-config.ts): pure, line by line.
 *
 * - `multi_line_start_pattern`: a line matching it starts a new event; any other line joins the
 *   current event (with `\n`); a line before the first start is an event of its own.
 * - `timestamp_format` (strftime codes `%Y %m %d %H %M %S %f %b …`): the first match in the event's
 *   first line is the event time, in `timezone` (`UTC`, or `Local`: the host's zone, here the jail's
 *   `timezone`); an event without one takes the previous event's time (the first ones: `fallback`).
 * - events are cut at `maxEventBytes` (the agent's 256 KB) and trailing blank lines are dropped;
 *   an event with no text left is not sent (PutLogEvents refuses empty messages).
 */
import { expandCodes, fieldsToEpoch } from '../filters/date/strptime.js';
import { zoneConverter } from '../filters/date/zone.js';

export interface AgentEventFormat {
  readonly multiLineStartPattern: string;
  readonly timestampFormat: string;
  /** IANA zone or UTC+hhmm of the host (the agent's `Local`), or UTC. */
  readonly timeZone: string;
}

export interface AgentEvent {
  readonly timestamp: number;
  readonly message: string;
  /** Whether the timestamp came from the event's own text (else: carried over). */
  readonly dated: boolean;
  /** Physical lines in the event. */
  readonly lines: number;
}

/** The agent's default (and maximum) event size. */
export const AGENT_MAX_EVENT_BYTES = 256 * 1024;

export interface AgentSplitter {
  /** Feeds one physical line (without its `\n`); returns the events it completed. */
  push(line: string): AgentEvent[];
  /** Ends the input; returns the last event, if any. */
  end(): AgentEvent[];
}

/** A timestamp reader for an agent `timestamp_format`; throws on an unusable format. */
export function timestampReader(
  format: string,
  timeZone: string,
): (text: string, now: number) => number | undefined {
  const { regex, unknown } = expandCodes(
    format.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '%' ? c : `\\${c}`)),
  );
  if (unknown)
    throw new Error(`timestamp_format ${JSON.stringify(format)}: unknown code ${unknown}`);
  const re = new RegExp(regex.replace(/\(\?P</g, '(?<'), 'i');
  const toEpoch = zoneConverter(timeZone);
  const ymd = (t: number): [number, number, number] => {
    const d = new Date(t);
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
  };
  return (text, now) => {
    const m = re.exec(text);
    if (!m?.groups) return undefined;
    return fieldsToEpoch(m.groups, now, toEpoch, ymd);
  };
}

function cut(message: string, maxBytes: number): string {
  if (Buffer.byteLength(message, 'utf8') <= maxBytes) return message;
  let s = message.slice(0, maxBytes);
  while (Buffer.byteLength(s, 'utf8') > maxBytes) s = s.slice(0, -1);
  return s;
}

export function createAgentSplitter(
  format: AgentEventFormat,
  options: { readonly now: number; readonly fallback?: number; readonly maxEventBytes?: number },
): AgentSplitter {
  const start = new RegExp(format.multiLineStartPattern);
  const readTime = timestampReader(format.timestampFormat, format.timeZone);
  const maxBytes = options.maxEventBytes ?? AGENT_MAX_EVENT_BYTES;
  let last = options.fallback ?? options.now;
  let current: string[] | undefined;

  const finish = (): AgentEvent[] => {
    if (!current) return [];
    const lines = current;
    current = undefined;
    while (lines.length > 0 && (lines[lines.length - 1] as string).trim() === '') lines.pop();
    if (lines.length === 0) return [];
    const time = readTime(lines[0] as string, options.now);
    if (time !== undefined) last = time;
    return [
      {
        timestamp: last,
        message: cut(lines.join('\n'), maxBytes),
        dated: time !== undefined,
        lines: lines.length,
      },
    ];
  };

  return {
    push(raw) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (current === undefined || start.test(line)) {
        const done = finish();
        current = [line];
        return done;
      }
      current.push(line);
      return [];
    },
    end: finish,
  };
}
