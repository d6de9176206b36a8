/**
 * Issue 15.1, 15.2 and 15.10 (second half) / 12.12, as users meet them: a `cloudjail local` server
 * with its own configuration (a jail denying SIP ports only), spawned `ban`/`status` processes.
 * Bans that set the scene are written through the real DynamoDB store at the server's endpoint
 * (as the detector would), to keep the number of process starts low.
 *
 * - 15.1: with the IPv4 band full of permanent bans, a newer `ban --permanent` does not evict an
 *   older one: it exits 5, and every listing says per ban where it is enforced.
 * - 15.2: a `deny: "sip"` ban takes two entries: status shows entries used/capacity and bans
 *   enforced/total separately.
 * - 15.10/12.12: an unreachable enforcer: "recorded, not yet enforced", exit 8, and the ban is kept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalState } from '../../cli/context.js';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import type { Ban } from '../../lambda/core/ban.js';
import { cloudjail, type LocalServer, lastJson, startLocalServer, tempDir } from './cli-process.js';

const ACL = 'acl-0c10d0a1b2c3d4e5f';
const CONFIG = {
  jails: [
    {
      name: 'sipjail',
      filter: 'asterisk',
      logGroups: ['/cloudjail/test/asterisk'],
      bantime: '1h',
      deny: 'sip',
    },
  ],
  ignoreip: ['192.0.2.0/28'],
  targets: [{ naclId: ACL, ipv4Band: [1, 18], ipv6Band: [19, 36], lowestAllowRule: 100 }],
  enforcement: { ruleQuota: 20 },
};

let server: LocalServer;
let store: DynamoDbBanStore;
let dynamo: DynamoDBClient;
let dir: string;
const run = (...args: string[]) => cloudjail([...args, ...server.args]);

beforeAll(async () => {
  dir = tempDir('visibility');
  const config = join(dir, 'cloudjail.json');
  writeFileSync(config, JSON.stringify(CONFIG));
  server = await startLocalServer(['--config', config]);
  const state = JSON.parse(readFileSync(server.state, 'utf8')) as LocalState;
  dynamo = new DynamoDBClient({
    endpoint: state.dynamodb.endpoint,
    region: state.ec2.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  store = new DynamoDbBanStore(dynamo, state.dynamodb.tableName);
}, 60_000);

afterAll(async () => {
  dynamo?.destroy();
  expect(await server?.stop()).toBe(0);
});

interface Placement {
  enforcedEverywhere: boolean;
  nacls: { naclId: string; state: string }[];
}

describe('what is enforced where (issue 15.1, 15.2)', () => {
  it('a deny "sip" ban takes two entries: entries and bans are counted separately', async () => {
    const now = Date.now();
    for (let i = 1; i <= 10; i++) {
      const ban: Ban = {
        jail: 'sipjail',
        cidr: `198.51.100.${i}/32`,
        createdAt: now - i * 1000,
        expiresAt: now + 3_600_000,
        source: 'detector',
        failures: 100 - i,
        banCount: 1,
      };
      expect(await store.putBan(ban, now, undefined)).toBe('created');
    }
    // The enforcer run of a `ban` (here: unban of nothing would not run it) — use status after a
    // real run: ban one more address of another family.
    const v6 = await run('ban', '2001:db8::7', '--jail', 'sipjail', '--json');
    expect(v6.code).toBe(0);
    const [json, human] = await Promise.all([run('status', '--json'), run('status')]);
    const status = lastJson(json) as {
      enforcement: {
        nacls: { ipv4: Record<string, number>; ipv6: Record<string, number> }[];
        notEnforced: number;
      };
      notEnforcedBans: { cidr: string; enforcement: Placement }[];
    };
    expect(status.enforcement.nacls[0]?.ipv4).toMatchObject({
      capacity: 18,
      entriesUsed: 18,
      bans: 10,
      enforced: 9,
      notEnforced: 1,
    });
    expect(status.enforcement.nacls[0]?.ipv6).toMatchObject({
      entriesUsed: 2,
      bans: 1,
      enforced: 1,
    });
    expect(status.notEnforcedBans.map((b) => b.cidr)).toEqual(['198.51.100.10/32']);
    expect(human.stdout).toContain(
      `${ACL}: IPv4 entries 18/18, bans 9/10; IPv6 entries 2/18, bans 1/1; 1 not enforced`,
    );
    expect(human.stdout).toContain(`198.51.100.10 [sipjail]: NOT ENFORCED in ${ACL} (no capacity)`);
    const detail = lastJson(await run('status', 'sipjail', '--json')) as {
      banned: { cidr: string; enforcement: Placement }[];
    };
    const byCidr = Object.fromEntries(detail.banned.map((b) => [b.cidr, b.enforcement]));
    expect(byCidr['198.51.100.1/32']).toEqual({
      enforcedEverywhere: true,
      nacls: [{ naclId: ACL, state: 'enforced' }],
    });
    expect(byCidr['198.51.100.10/32']).toEqual({
      enforcedEverywhere: false,
      nacls: [{ naclId: ACL, state: 'not-enforced' }],
    });
    await store.releaseBans({ jail: 'sipjail' }, Date.now());
    // An enforcer run (nothing left to release) clears the band for the next test.
    expect((await run('unban', '--all')).code).toBe(0);
  }, 120_000);

  it('18 permanent bans fill the band: a 19th ban --permanent exits 5 and evicts nobody; status says so per ban', async () => {
    const now = Date.now();
    for (let i = 1; i <= 17; i++) {
      const ban: Ban = {
        jail: 'manual',
        cidr: `203.0.113.${i}/32`,
        createdAt: now - 60_000 + i,
        expiresAt: null,
        source: 'manual',
        failures: 0,
        banCount: 1,
        reason: 'permanent',
      };
      expect(await store.putBan(ban, now, undefined)).toBe('created');
    }
    const eighteenth = await run('ban', '203.0.113.18', '--permanent');
    expect(eighteenth.code).toBe(0);
    const nineteenth = await run('ban', '203.0.113.19', '--permanent', '--json');
    expect(nineteenth.code).toBe(5);
    const out = lastJson(nineteenth) as {
      enforced: boolean;
      displaced: unknown[];
      placement: Placement;
    };
    expect(out.enforced).toBe(false);
    expect(out.displaced).toEqual([]);
    expect(out.placement).toEqual({
      enforcedEverywhere: false,
      nacls: [{ naclId: ACL, state: 'not-enforced' }],
    });
    expect(nineteenth.stderr).toContain(
      '203.0.113.19/32 is banned but not denied in every network ACL',
    );
    const [detail, human] = await Promise.all([
      run('status', 'manual', '--json'),
      run('status', 'manual'),
    ]);
    const banned = (lastJson(detail) as { banned: { cidr: string; enforcement: Placement }[] })
      .banned;
    expect(banned).toHaveLength(19);
    expect(banned.filter((b) => !b.enforcement.enforcedEverywhere).map((b) => b.cidr)).toEqual([
      '203.0.113.19/32',
    ]);
    expect(human.stdout).toMatch(
      new RegExp(
        `203\\.0\\.113\\.19 +permanent[^\\n]*\\n +NOT ENFORCED in ${ACL} \\(no capacity\\)`,
      ),
    );
    expect(human.stdout).toMatch(
      new RegExp(`203\\.0\\.113\\.1 +permanent[^\\n]*\\n +denied in ${ACL}`),
    );
  }, 120_000);

  it('a manual ban that takes the slot of a detector ban names the ban it displaced', async () => {
    // The band holds 18 permanent bans (the test above); free one slot's worth by unbanning one
    // permanent ban, fill it with a detector ban, then ban manually: the detector ban yields.
    await store.releaseBans({ cidr: '203.0.113.18/32' }, Date.now());
    const now = Date.now();
    await store.putBan(
      {
        jail: 'other',
        cidr: '198.51.100.99/32',
        createdAt: now,
        expiresAt: now + 3_600_000,
        source: 'detector',
        failures: 9,
        banCount: 1,
      },
      now,
      undefined,
    );
    // This enforcer run frees two slots: the detector ban takes one.
    expect((await run('unban', '203.0.113.19')).code).toBe(0);
    const first = await run('ban', '203.0.113.18', '--for', '1h');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /displaced 198\.51\.100\.99 \[other\] from acl-0c10d0a1b2c3d4e5f rule \d+/,
    );
  }, 120_000);
});

describe('an enforcer that cannot be run now (issue 15.10, 12.12)', () => {
  it('unreachable: "recorded, not yet enforced", exit 8, the ban kept', async () => {
    // A copy of the state file whose Lambda endpoint is a port nothing listens on.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const state = JSON.parse(readFileSync(server.state, 'utf8')) as LocalState;
    const broken = join(dir, 'unreachable.json');
    writeFileSync(
      broken,
      JSON.stringify({
        ...state,
        lambda: { ...state.lambda, endpoint: `http://127.0.0.1:${closed}` },
      }),
    );
    const r = await cloudjail(['ban', '203.0.113.77', '--local', '--state', broken]);
    expect(r.code).toBe(8);
    expect(r.stdout).toContain('banned 203.0.113.77 [manual]');
    expect(r.stdout).toContain(
      'recorded, not yet enforced: the enforcer cloudjail-enforcer is unreachable',
    );
    expect(r.stderr).toContain('203.0.113.77/32 is recorded, not yet enforced');
    expect((await store.bansOf('203.0.113.77/32')).map((b) => b.jail)).toEqual(['manual']);
    const unban = await cloudjail(['unban', '203.0.113.77', '--local', '--state', broken]);
    expect(unban.code).toBe(8);
    expect(unban.stdout).toContain('released 1 ban(s); recorded, not yet enforced');
  }, 120_000);
});
