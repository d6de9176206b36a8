/**
 * The deployed-stack path of the CLI as a spawned process, entirely on loopback: the AWS SDK's
 * service-specific endpoint variables (AWS_ENDPOINT_URL_CLOUDFORMATION, _DYNAMODB, _LAMBDA) point
 * the CLI's real clients at a stub DescribeStacks server (stack outputs), dynalite (the table) and
 * the local Lambda endpoint running the real enforcer use case against the local EC2 endpoint.
 * Nothing here reaches AWS.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { Ec2NetworkAcls } from '../../lambda/adapters/ec2-network-acls.js';
import { S3BanListPublisher } from '../../lambda/adapters/s3-ban-list-publisher.js';
import { loadCloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import { enforceBans } from '../../lambda/use-cases/enforce-bans.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { type LocalEc2, sampleAcl, startLocalEc2 } from '../../local/ec2-endpoint.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { type LocalLambda, startLocalLambda } from '../../local/lambda-endpoint.js';
import { type LocalS3, startLocalS3 } from '../../local/s3-endpoint.js';
import { startCloudFormationStub } from '../helpers/cloudformation-stub.js';
import { cloudjail, lastJson } from './cli-process.js';

const STACK = 'Cloudjail-Test';
const BROKEN_STACK = 'Cloudjail-Broken';
const MISSING_NACL = 'acl-0fffffffffffffff0';
const NACL = 'acl-0123456789abcdef0';
const RAW_CONFIG = {
  jails: [{ name: 'freeswitch', logGroups: ['/sbc/freeswitch'], bantime: '1h' }],
  ignoreip: ['192.0.2.0/28'],
  // A two-entry IPv4 band, so the capacity report is exercised.
  targets: [{ naclId: NACL, ipv4Band: [1, 2] }],
};

let db: EmbeddedDynamoDb;
let ec2: LocalEc2;
let lambda: LocalLambda;
let cfn: Server;
let s3: LocalS3;
let env: Record<string, string>;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb('cloudjail-test-table');
  ec2 = await startLocalEc2({ acls: [sampleAcl(NACL)] });
  const store = new DynamoDbBanStore(db.client(), db.tableName);
  const nacls = new Ec2NetworkAcls({ client: ec2.client() });
  s3 = await startLocalS3({ bucket: 'cloudjail-test-ban-list' });
  const publisher = new S3BanListPublisher({ client: s3.client(), bucket: s3.bucket });
  // A second deployment whose configuration names a NACL that does not exist: one NACL fails.
  const brokenRaw = { ...RAW_CONFIG, targets: [...RAW_CONFIG.targets, { naclId: MISSING_NACL }] };
  const enforcer = (raw: unknown) => {
    const config = loadCloudjailConfig(raw);
    return (event: unknown) =>
      enforceBans(
        {
          store,
          nacls,
          jails: config.jails,
          ignoreip: config.ignoreip,
          publisher,
          targets: config.targets,
          settings: config.enforcement,
          now: () => Date.now(),
          sleep: async () => {},
        },
        { dryRun: (event as { dryRun?: boolean }).dryRun === true },
      );
  };
  lambda = await startLocalLambda({
    'Cloudjail-Test-Enforcer': enforcer(RAW_CONFIG),
    'Broken-Enforcer': enforcer(brokenRaw),
  });
  const outputs = (enforcerName: string, raw: unknown) => ({
    [STACK_OUTPUTS.tableName]: db.tableName,
    [STACK_OUTPUTS.enforcerFunctionName]: enforcerName,
    [STACK_OUTPUTS.config]: JSON.stringify(raw),
  });
  cfn = await startCloudFormationStub({
    [STACK]: {
      ...outputs('Cloudjail-Test-Enforcer', RAW_CONFIG),
      [STACK_OUTPUTS.banListBucket]: s3.bucket,
    },
    [BROKEN_STACK]: outputs('Broken-Enforcer', brokenRaw),
  });
  env = {
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    // s3rver's fixed credentials (it checks signatures); dynalite and the local Lambda accept any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
});

afterAll(async () => {
  await lambda?.stop();
  await ec2?.stop();
  await db?.stop();
  await s3?.stop();
  await new Promise<void>((r) => (cfn ? cfn.close(() => r()) : r()));
});

const denies = () =>
  ec2
    .entries(NACL)
    .filter((e) => !e.egress && e.ruleAction === 'deny' && e.ruleNumber < 32767)
    .map((e) => e.cidr);

describe('cloudjail against a stack (stack outputs, table, enforcer invoke)', () => {
  it('ban resolves the stack, writes the table, invokes the enforcer: the NACL denies it', async () => {
    const r = await cloudjail(['ban', '203.0.113.7', '--stack', STACK, '--json'], undefined, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lastJson(r)).toMatchObject({ status: 'banned', enforced: true });
    expect(denies()).toEqual(['203.0.113.7/32']);
  });

  it('status reads the same table and the dry-run report', async () => {
    const r = await cloudjail(['status', '--stack', STACK, '--json'], undefined, env);
    expect(r.code).toBe(0);
    expect(lastJson(r)).toMatchObject({
      activeBans: 1,
      enforcement: { nacls: [{ naclId: NACL, ipv4: { enforced: 1, capacity: 2 } }] },
      // The host tier, from the stack's BanListBucketName (HeadObject through the real S3 client).
      publication: { bans: 1 },
    });
  });

  it('the allowlist from the Config output is honoured; unban clears the NACL', async () => {
    const refused = await cloudjail(['ban', '192.0.2.3', '--stack', STACK], undefined, env);
    expect(refused.code).toBe(3);
    const r = await cloudjail(['unban', '203.0.113.7', '--stack', STACK], undefined, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('203.0.113.7 [manual] — removed from the network ACLs');
    expect(denies()).toEqual([]);
  });

  it('more bans than the band holds: status reports the ones not enforced', async () => {
    // One after the other: each ban's own enforcer run sees the ones before it.
    const codes: (number | null)[] = [];
    for (const ip of ['203.0.113.21', '203.0.113.22', '203.0.113.23']) {
      const rr = await cloudjail(['ban', ip, '--stack', STACK], undefined, env);
      if (rr.code !== 0) console.error(rr.stdout, rr.stderr);
      codes.push(rr.code);
    }
    // An operator's ban keeps its slot: the newest one that does not fit is not enforced (exit 5).
    expect(codes).toEqual([0, 0, 5]);
    expect(denies().sort()).toEqual(['203.0.113.21/32', '203.0.113.22/32']);
    const [json, human] = await Promise.all([
      cloudjail(['status', '--stack', STACK, '--json'], undefined, env),
      cloudjail(['status', '--stack', STACK], undefined, env),
    ]);
    const status = lastJson(json);
    expect(status).toMatchObject({
      activeBans: 3,
      enforcement: {
        notEnforced: 1,
        nacls: [{ ipv4: { capacity: 2, entriesUsed: 2, bans: 3, enforced: 2, notEnforced: 1 } }],
      },
      notEnforcedBans: [
        {
          cidr: '203.0.113.23/32',
          jail: 'manual',
          enforcement: { enforcedEverywhere: false, nacls: [{ state: 'not-enforced' }] },
        },
      ],
    });
    expect(human.stdout).toContain('Not enforced (no NACL capacity):\t1');
    const all = await cloudjail(['unban', '--all', '--stack', STACK], undefined, env);
    expect(all.code).toBe(0);
    expect(denies()).toEqual([]);
    // Six CLI processes one after the other: generous on a loaded machine.
  }, 120_000);

  it('a ban that a NACL cannot take: kept, reported, exit 5', async () => {
    const r = await cloudjail(['ban', '203.0.113.31', '--stack', BROKEN_STACK], undefined, env);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`${MISSING_NACL}:`);
    expect(r.stdout).toContain('ERROR');
    expect(r.stderr).toContain('203.0.113.31/32 is banned but not denied in every network ACL');
    // The working NACL has it, and the ban is kept.
    expect(denies()).toEqual(['203.0.113.31/32']);
    const status = lastJson(
      await cloudjail(['status', 'manual', '--stack', STACK, '--json'], undefined, env),
    );
    expect(status).toMatchObject({ banned: [{ cidr: '203.0.113.31/32' }] });
  });

  it('no Region anywhere: exit 2 naming --region', async () => {
    const r = await cloudjail(['status'], undefined, {
      ...env,
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no valid AWS Region .*: pass --region/);
  });

  it('an unknown stack exits 4 with what to do', async () => {
    const r = await cloudjail(['status', '--stack', 'Nope'], undefined, env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/stack Nope not found/);
  });
});
