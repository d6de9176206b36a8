/**
 * AgentHeartbeatReader on the ban-list bucket: ListObjectsV2 under `agents/` + GetObject per record;
 * the published serial from the ban-list object itself (gzip JSON; only serial and generatedAt are
 * read).
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { PublishedSerial } from '../core/agent-health.js';
import {
  type AgentHeartbeat,
  BAN_LIST_KEY,
  HEARTBEAT_PREFIX,
  HEARTBEAT_SCHEMA,
} from '../core/ban-list/heartbeat.js';
import type { AgentHeartbeatReader } from '../ports/agent-heartbeats.js';

function isHeartbeat(v: unknown): v is AgentHeartbeat {
  const h = v as Partial<AgentHeartbeat> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    h.schema === HEARTBEAT_SCHEMA &&
    typeof h.agentId === 'string' &&
    typeof h.at === 'number' &&
    (h.appliedSerial === null || typeof h.appliedSerial === 'number')
  );
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
}

export class S3AgentHeartbeats implements AgentHeartbeatReader {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly banListKey = BAN_LIST_KEY,
  ) {}

  private async body(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list(): Promise<AgentHeartbeat[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: HEARTBEAT_PREFIX,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: AgentHeartbeat[] = [];
    // A few at a time: a fleet of hundreds stays a handful of round trips.
    for (let i = 0; i < keys.length; i += 16) {
      const bodies = await Promise.all(keys.slice(i, i + 16).map((k) => this.body(k)));
      for (const b of bodies) {
        if (!b) continue;
        try {
          const v = JSON.parse(Buffer.from(b).toString('utf8')) as unknown;
          if (isHeartbeat(v)) out.push(v);
        } catch {
          // A malformed record counts as no heartbeat (that agent shows as missing).
        }
      }
    }
    return out;
  }

  async publishedSerial(): Promise<PublishedSerial | undefined> {
    const b = await this.body(this.banListKey);
    if (!b) return undefined;
    const text = Buffer.from(b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8');
    const doc = JSON.parse(text) as { serial?: unknown; generatedAt?: unknown };
    if (typeof doc.serial !== 'number' || typeof doc.generatedAt !== 'number') return undefined;
    return { serial: doc.serial, publishedAt: doc.generatedAt };
  }
}
