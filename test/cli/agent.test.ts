/**
 * `cloudjail agent` as users run it (spawned CLI). Only --dry-run and input errors here: they change
 * nothing in nftables. The real enforcement runs in network namespaces
 * (test/integration/agent-netns.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import { type LocalS3, startLocalS3 } from '../../local/s3-endpoint.js';
import { cloudjail, tempDir } from './cli-process.js';

describe('cloudjail agent', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3();
    const list = {
      schema: 'cloudjail.ban-list',
      schemaVersion: 1,
      serial: 3,
      generatedAt: Date.now(),
      allowlist: [{ cidr: '198.51.100.9/32', jails: null }],
      groups: [
        {
          jails: ['freeswitch'],
          deny: { kind: 'all' },
          verdict: 'reject',
          bans: [['203.0.113.7/32', null]],
        },
      ],
    };
    const client = s3.client();
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: BAN_LIST_KEY,
        Body: gzipSync(JSON.stringify(list)),
      }),
    );
  });
  afterAll(() => s3.stop());

  it('--dry-run prints the one-transaction nft script for the published list', async () => {
    const r = await cloudjail([
      'agent',
      '--dry-run',
      '--endpoint',
      s3.endpoint,
      '--bucket',
      s3.bucket,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# cloudjail ban list serial 3');
    expect(r.stdout).toContain(
      'add table inet cloudjail\ndelete table inet cloudjail\ntable inet cloudjail {',
    );
    expect(r.stdout).toContain('ip saddr @allow_v4 accept');
    expect(r.stdout).toContain('ip saddr @g0_v4h meta l4proto tcp counter reject with tcp reset');
  });

  it('--local names what is missing in the state file', async () => {
    const state = join(tempDir('agent'), 'state.json');
    writeFileSync(state, JSON.stringify({ version: 1 }));
    const r = await cloudjail(['agent', '--once', '--local', '--local-state', state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the local server publishes no ban list (no "s3" in its state)');
  });

  it('refuses a bad --interval', async () => {
    const r = await cloudjail(['agent', '--interval', 'soon', '--bucket', 'b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--interval: "soon" is not a duration');
  });
});
