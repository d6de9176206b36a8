/**
 * The host tier in the embedded mode: `cloudjail local` serves the published ban list on a local
 * S3 API named in its state file; a ban made with `--local` is published there (the real S3
 * client reads it back over HTTP) and `status --local` shows the publication.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalState } from '../../cli/context.js';
import { S3BanListPublisher } from '../../lambda/adapters/s3-ban-list-publisher.js';
import { localS3Client } from '../../local/s3-endpoint.js';
import { cloudjail, type LocalServer, lastJson, startLocalServer } from './cli-process.js';

let server: LocalServer;
const run = (...args: string[]) => cloudjail([...args, ...server.args]);

beforeAll(async () => {
  server = await startLocalServer();
}, 60_000);
afterAll(async () => {
  expect(await server?.stop()).toBe(0);
});

describe('cloudjail local: the published ban list', () => {
  it('names its S3 endpoint, publishes a --local ban there, and status shows it', async () => {
    const state = JSON.parse(readFileSync(server.state, 'utf8')) as LocalState;
    expect(state.s3?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(state.s3?.bucket).toBe('cloudjail-local');
    expect(server.output()).toContain(`S3 ${state.s3!.endpoint}`);

    const before = lastJson(await run('status', '--json')) as { publication: unknown };
    expect(before.publication).toBeNull();

    const banned = await run('ban', '203.0.113.7', '--jail', 'freeswitch', '--json');
    expect(banned.code, banned.stderr).toBe(0);
    const report = (
      lastJson(banned) as {
        enforcement: { publication: { serial: number; bans: number; changed: boolean } };
      }
    ).enforcement;
    expect(report.publication).toMatchObject({ bans: 1, changed: true });

    const client = localS3Client(state.s3!.endpoint);
    try {
      const list = await new S3BanListPublisher({ client, bucket: state.s3!.bucket }).read();
      expect(list?.serial).toBe(report.publication.serial);
      expect(list?.groups.flatMap((g) => g.bans.map(([cidr]) => cidr))).toEqual(['203.0.113.7/32']);
      expect(list?.allowlist).toContainEqual({ cidr: '192.0.2.0/28', jails: null });
    } finally {
      client.destroy();
    }

    const [json, human] = await Promise.all([run('status', '--json'), run('status')]);
    const after = lastJson(json) as {
      publication: { serial: number; bans: number; ageMs: number };
    };
    expect(after.publication).toMatchObject({ serial: report.publication.serial, bans: 1 });
    expect(after.publication.ageMs).toBeGreaterThanOrEqual(0);
    expect(human.stdout).toMatch(
      new RegExp(
        `Host tier \\(published ban list\\):\\s+serial ${report.publication.serial}, 1 ban\\(s\\)`,
      ),
    );
  }, 120_000);
});
