import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3HeartbeatSink } from '../../agent/adapters/s3-heartbeat-sink.js';
import { S3AgentHeartbeats } from '../../lambda/adapters/s3-agent-heartbeats.js';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import { type LocalS3, startLocalS3 } from '../../local/s3-endpoint.js';

describe('S3AgentHeartbeats (local S3)', () => {
  let s3: LocalS3;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startLocalS3();
    client = s3.client();
  });
  afterAll(() => s3.stop());

  it('reads no published serial before a list exists, then its serial', async () => {
    const reader = new S3AgentHeartbeats(client, s3.bucket);
    expect(await reader.publishedSerial()).toBeUndefined();
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: BAN_LIST_KEY,
        Body: gzipSync(
          JSON.stringify({
            schema: 'cloudjail.ban-list',
            schemaVersion: 1,
            serial: 42,
            generatedAt: 1234,
            allowlist: [],
            groups: [],
          }),
        ),
      }),
    );
    expect(await reader.publishedSerial()).toEqual({ serial: 42, publishedAt: 1234 });
  });

  it('lists the heartbeats agents wrote and skips malformed records', async () => {
    const sink = new S3HeartbeatSink(client, s3.bucket);
    for (const id of ['i-0123456789abcdef0', 'sbc-2']) {
      await sink.put({
        schema: 'cloudjail.agent-heartbeat',
        schemaVersion: 1,
        agentId: id,
        hostname: id,
        appliedSerial: 41,
        elements: 7,
        lastError: null,
        at: 5000,
        version: '0.1.0',
      });
    }
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: 'agents/bad.json', Body: '{' }),
    );
    const beats = await new S3AgentHeartbeats(client, s3.bucket).list();
    expect(beats.map((b) => b.agentId).sort()).toEqual(['i-0123456789abcdef0', 'sbc-2']);
  });
});
