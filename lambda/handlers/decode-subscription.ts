/**
 * Decodes a CloudWatch Logs subscription event: `awslogs.data` is base64 of gzip of JSON
 * `{messageType, logGroup, logStream, logEvents: [{id, timestamp, message}]}`.
 */
import { gunzipSync } from 'node:zlib';
import type { LogBatch } from '../use-cases/ingest-log-events.js';

export class PayloadError extends Error {}

/** The batch, or null for CONTROL_MESSAGE (CloudWatch's reachability check). */
export function decodeSubscription(event: unknown): LogBatch | null {
  const data = (event as { awslogs?: { data?: unknown } } | undefined)?.awslogs?.data;
  if (typeof data !== 'string') throw new PayloadError('event has no awslogs.data string');
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'));
  } catch (e) {
    throw new PayloadError(`awslogs.data is not base64 gzip JSON: ${(e as Error).message}`);
  }
  const p = json as {
    messageType?: unknown;
    logGroup?: unknown;
    logStream?: unknown;
    logEvents?: unknown;
  };
  if (p.messageType === 'CONTROL_MESSAGE') return null;
  if (typeof p.logGroup !== 'string' || !Array.isArray(p.logEvents)) {
    throw new PayloadError('payload has no logGroup or logEvents');
  }
  return {
    logGroup: p.logGroup,
    logStream: typeof p.logStream === 'string' ? p.logStream : '',
    events: p.logEvents as LogBatch['events'],
  };
}
