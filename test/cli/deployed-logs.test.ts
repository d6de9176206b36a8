/**
 * `backfill` and `doctor` against a "deployed" stack, entirely on loopback: the SDK's endpoint
 * variables point the CLI's real clients at a stub DescribeStacks (stack outputs), dynalite (the
 * table), a local Lambda endpoint (the real enforcer use case against a local EC2 endpoint) and a
 * local CloudWatch Logs endpoint (the jail's log group with the stack's subscription filter, and
 * the detector's own log group). The same command code as --local; only endpoints differ.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  PutSubscriptionFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { Ec2NetworkAcls } from '../../lambda/adapters/ec2-network-acls.js';
import { loadCloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import { enforceBans } from '../../lambda/use-cases/enforce-bans.js';
import { subscriptionPlan } from '../../lib/filter-patterns.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { type LocalEc2, sampleAcl, startLocalEc2 } from '../../local/ec2-endpoint.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { type LocalLambda, startLocalLambda } from '../../local/lambda-endpoint.js';
import { type LocalLogs, startLocalLogs } from '../../local/logs-endpoint.js';
import { startCloudFormationStub } from '../helpers/cloudformation-stub.js';
import { cloudjail, lastJson } from './cli-process.js';

const STACK = 'Cloudjail-Logs';
const NACL = 'acl-0123456789abcdef0';
const GROUP = '/sbc/freeswitch';
const DETECTOR = 'Cloudjail-Logs-Detector';
const DETECTOR_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${DETECTOR}`;
const RAW_CONFIG = {
  jails: [{ name: 'freeswitch', logGroups: [GROUP], maxretry: 5, findtime: '10m', bantime: '1h' }],
  targets: [{ naclId: NACL }],
};

let db: EmbeddedDynamoDb;
let ec2: LocalEc2;
let lambda: LocalLambda;
let logs: LocalLogs;
let cfn: Server;
let env: Record<string, string>;
const run = (...args: string[]) => cloudjail([...args, '--stack', STACK], undefined, env);

function fsFailure(t: number, ip: string): string {
  const d = new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  return `${d}000 98.31% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@pbx.example.com] from ip ${ip}`;
}

beforeAll(async () => {
  db = await startEmbeddedDynamoDb('cloudjail-logs-table');
  ec2 = await startLocalEc2({ acls: [sampleAcl(NACL)] });
  const store = new DynamoDbBanStore(db.client(), db.tableName);
  const nacls = new Ec2NetworkAcls({ client: ec2.client() });
  const config = loadCloudjailConfig(RAW_CONFIG);
  lambda = await startLocalLambda({
    'Cloudjail-Logs-Enforcer': (event) =>
      enforceBans(
        {
          store,
          nacls,
          jails: config.jails,
          targets: config.targets,
          settings: config.enforcement,
          now: () => Date.now(),
          sleep: async () => {},
        },
        { dryRun: (event as { dryRun?: boolean }).dryRun === true },
      ),
  });
  // The "deployed" detector is not wired here: what reached the group before the subscription
  // existed (or while it was broken) is exactly what backfill is for.
  logs = await startLocalLogs({ destinations: { [DETECTOR_ARN]: async () => undefined } });
  const client = logs.client();
  await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'sbc-1' }));
  const now = Date.now();
  await client.send(
    new PutLogEventsCommand({
      logGroupName: GROUP,
      logStreamName: 'sbc-1',
      logEvents: Array.from({ length: 6 }, (_, i) => {
        const t = now - 120_000 + i * 1000;
        return { timestamp: t, message: fsFailure(t, '203.0.113.66') };
      }),
    }),
  );
  const spec = subscriptionPlan(config.jails)[0];
  await client.send(
    new PutSubscriptionFilterCommand({
      logGroupName: GROUP,
      filterName: spec?.filterName,
      filterPattern: spec?.filterPattern,
      destinationArn: DETECTOR_ARN,
    }),
  );
  // The detector's own log group, with one error line in the last hour.
  const own = `/aws/lambda/${DETECTOR}`;
  await client.send(new CreateLogGroupCommand({ logGroupName: own }));
  await client.send(new CreateLogStreamCommand({ logGroupName: own, logStreamName: 'x' }));
  await client.send(
    new PutLogEventsCommand({
      logGroupName: own,
      logStreamName: 'x',
      logEvents: [{ timestamp: now - 1000, message: '{"level":"ERROR","message":"store outage"}' }],
    }),
  );
  cfn = await startCloudFormationStub({
    [STACK]: {
      [STACK_OUTPUTS.tableName]: db.tableName,
      [STACK_OUTPUTS.enforcerFunctionName]: 'Cloudjail-Logs-Enforcer',
      [STACK_OUTPUTS.detectorFunctionName]: DETECTOR,
      [STACK_OUTPUTS.config]: JSON.stringify(RAW_CONFIG),
    },
  });
  env = {
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.endpoint,
    AWS_ENDPOINT_URL_EC2: ec2.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
});

afterAll(async () => {
  await logs?.stop();
  await lambda?.stop();
  await ec2?.stop();
  await db?.stop();
  await new Promise<void>((r) => (cfn ? cfn.close(() => r()) : r()));
});

describe('backfill and doctor against a stack (endpoints injected)', () => {
  it('backfill: the attack already in the log group is banned and denied; a second run counts nothing', async () => {
    const r = await run('backfill', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson(r) as {
      groups: { events: number; newFailures: number }[];
      bans: { cidr: string }[];
    };
    expect(out.groups[0]).toMatchObject({ events: 6, newFailures: 6 });
    expect(out.bans.map((b) => b.cidr)).toEqual(['203.0.113.66/32']);
    const denies = ec2
      .entries(NACL)
      .filter((e) => !e.egress && e.ruleAction === 'deny' && e.ruleNumber < 32767)
      .map((e) => e.cidr);
    expect(denies).toEqual(['203.0.113.66/32']);
    const again = lastJson(await run('backfill', '--json')) as typeof out;
    expect(again.groups[0]).toMatchObject({ events: 6, newFailures: 0 });
    expect(again.bans).toEqual([]);
  });

  it("doctor: the links are ok, the detector's error line fails its check", async () => {
    const r = await run('doctor', '--json');
    expect(r.code, r.stderr).toBe(6);
    const checks = (lastJson(r) as { checks: { check: string; status: string; message: string }[] })
      .checks;
    const status = (name: string) => checks.filter((c) => c.check === name).map((c) => c.status);
    expect(status('log-group')).toEqual(['ok']);
    expect(status('events')).toEqual(['ok']);
    expect(status('subscription')).toEqual(['ok']);
    expect(status('sample')).toEqual(['ok']);
    expect(status('enforcer')).toEqual(['ok']);
    expect(status('nacl')).toEqual(['ok']);
    expect(status('band')).toEqual(['ok']);
    expect(status('detector')).toEqual(['fail']);
    expect(checks.find((c) => c.check === 'detector')?.message).toMatch(
      /1 error line\(s\).*store outage/,
    );
  });
});
