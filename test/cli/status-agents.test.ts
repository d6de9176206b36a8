/**
 * `cloudjail status --local` shows the host tier: agents current / behind / silent with each
 * host's applied serial, from the heartbeats in the local server's S3 (its state file's `s3`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3HeartbeatSink } from '../../agent/adapters/s3-heartbeat-sink.js';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import { type LocalS3, localS3Client, startLocalS3 } from '../../local/s3-endpoint.js';
import { cloudjail, type LocalServer, startLocalServer } from './cli-process.js';

describe('cloudjail status: host agents', () => {
  let server: LocalServer;
  let s3: LocalS3;

  beforeAll(async () => {
    [server, s3] = await Promise.all([startLocalServer(), startLocalS3()]);
    const state = JSON.parse(readFileSync(server.state, 'utf8')) as Record<string, unknown>;
    // The local server names its S3 once publication lands; here the test's own local S3.
    state.s3 ??= { endpoint: s3.endpoint, bucket: s3.bucket };
    writeFileSync(server.state, JSON.stringify(state));
    const { endpoint, bucket } = state.s3 as { endpoint: string; bucket: string };
    const client = localS3Client(endpoint);
    const now = Date.now();
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: BAN_LIST_KEY,
        Body: gzipSync(
          JSON.stringify({
            schema: 'cloudjail.ban-list',
            schemaVersion: 1,
            serial: 12,
            generatedAt: now - 3_600_000,
            allowlist: [],
            groups: [],
          }),
        ),
      }),
    );
    const sink = new S3HeartbeatSink(client, bucket);
    const beat = (agentId: string, appliedSerial: number, ageMs: number) =>
      sink.put({
        schema: 'cloudjail.agent-heartbeat',
        schemaVersion: 1,
        agentId,
        hostname: agentId,
        appliedSerial,
        elements: 5,
        lastError: null,
        at: now - ageMs,
        version: '0.1.0',
      });
    await beat('sbc-a', 12, 4000);
    await beat('sbc-b', 11, 4000);
    await beat('sbc-c', 12, 3_600_000);
    client.destroy();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
  });

  it('counts agents per state and lists each host with its serial', async () => {
    const r = await cloudjail(['status', ...server.args]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      '|- Host agents:\t1 current, 1 behind, 1 silent (published serial 12)',
    );
    expect(r.stdout).toMatch(/sbc-a: current, serial 12, 5 elements, heartbeat \ds ago/);
    expect(r.stdout).toMatch(/sbc-b: behind, serial 11/);
    expect(r.stdout).toMatch(/sbc-c: silent, serial 12, 5 elements, heartbeat 1h(\d+s)? ago/);
    const json = JSON.parse((await cloudjail(['status', '--json', ...server.args])).stdout);
    expect([json.agents.current, json.agents.behind, json.agents.silent]).toEqual([1, 1, 1]);
  }, 120_000);
});
