/**
 * Decodes a CloudWatch Logs subscription event: `awslogs.data` is base64 of gzip of JSON
 * `{messageType, logGroup, logStream, logEvents: [{id, timestamp, message}]}`.
 */
import { gunzipSync } from 'node:zlib';
import type { LogBatch } from '../use-cases/ingest-log-events.js';

export class PayloadError extends Error {}

/**
 * The most a payload may inflate to. CloudWatch Logs hands Lambda at most ~1 MB compressed (the
 * async invoke limit), its events bounded by CloudWatch's 1 MB batch size (message bytes + 26
 * per event, at most 10,000 events). JSON-escaping can grow messages up to 6× (`\u0000` for a control
 * byte) and each event adds ~100 bytes of id/timestamp/keys, so a real payload stays below ~7 MB
 * uncompressed. 16 MB leaves more than 2× headroom while bounding memory: a crafted 816 KB payload
 * that would inflate to 600 MB is rejected after 16 MB instead.
 */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** The text of CloudWatch's own reachability check events. */
const CONTROL_TEXT = 'CWL CONTROL MESSAGE';

/** A CONTROL_MESSAGE (CloudWatch's reachability check): never ingested. */
export interface ControlMessage {
  readonly controlMessage: true;
  /** Log events it carried. */
  readonly events: number;
  /** Of them, events that are not CloudWatch's check text (unexpected: logged and counted). */
  readonly unexpectedEvents: number;
}

export function isControlMessage(x: LogBatch | ControlMessage): x is ControlMessage {
  return (x as ControlMessage).controlMessage === true;
}

/** The batch, or a ControlMessage; a PayloadError says what is wrong with anything else. */
export function decodeSubscription(event: unknown): LogBatch | ControlMessage {
  const data = (event as { awslogs?: { data?: unknown } } | undefined)?.awslogs?.data;
  if (typeof data !== 'string') throw new PayloadError('event has no awslogs.data string');
  let inflated: Buffer;
  try {
    inflated = gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new PayloadError(
        `awslogs.data inflates beyond ${MAX_INFLATED_BYTES} bytes (no real CloudWatch payload does)`,
      );
    }
    throw new PayloadError(`awslogs.data is not base64 gzip JSON: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(inflated.toString('utf8'));
  } catch (e) {
    throw new PayloadError(`awslogs.data is not base64 gzip JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PayloadError(`payload is ${json === null ? 'null' : typeof json}, not a JSON object`);
  }
  const p = json as {
    messageType?: unknown;
    logGroup?: unknown;
    logStream?: unknown;
    logEvents?: unknown;
  };
  if (p.messageType === 'CONTROL_MESSAGE') {
    const list = Array.isArray(p.logEvents) ? p.logEvents : [];
    const unexpected = list.filter(
      (e) =>
        !(
          typeof (e as { message?: unknown } | null)?.message === 'string' &&
          (e as { message: string }).message.startsWith(CONTROL_TEXT)
        ),
    ).length;
    return { controlMessage: true, events: list.length, unexpectedEvents: unexpected };
  }
  if (typeof p.logGroup !== 'string' || !Array.isArray(p.logEvents)) {
    throw new PayloadError('payload has no logGroup or logEvents');
  }
  return {
    logGroup: p.logGroup,
    logStream: typeof p.logStream === 'string' ? p.logStream : '',
    events: p.logEvents as LogBatch['events'],
  };
}
