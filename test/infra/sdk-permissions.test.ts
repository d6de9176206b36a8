/**
 * Every AWS API the Lambda code calls is granted, and no more on the table: the detector and the
 * enforcer get exactly the DynamoDB item actions the table adapters call
 * (TABLE_DATA_ACTIONS), on the table only. The adapters' SDK commands are read from the sources,
 * so a new command (a Scan, a transaction) fails here instead of with AccessDenied in AWS, where
 * the local tests (dynalite, no IAM) cannot see it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/cloudjail.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { ENFORCER_TABLE_ACTIONS, METRICS, TABLE_DATA_ACTIONS } from '../../lib/runtime-contract.js';
import {
  actionsOf,
  cleanupApps,
  exampleConfig,
  functionByService,
  policyStatements,
  roleOf,
  testApp,
} from './helpers.js';

/** SDK command class → the IAM actions it needs (lib-dynamodb and client-dynamodb names). */
const COMMAND_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  Get: ['dynamodb:GetItem'],
  GetItem: ['dynamodb:GetItem'],
  BatchGet: ['dynamodb:BatchGetItem'],
  BatchGetItem: ['dynamodb:BatchGetItem'],
  Query: ['dynamodb:Query'],
  Scan: ['dynamodb:Scan'],
  Put: ['dynamodb:PutItem'],
  PutItem: ['dynamodb:PutItem'],
  Update: ['dynamodb:UpdateItem'],
  UpdateItem: ['dynamodb:UpdateItem'],
  Delete: ['dynamodb:DeleteItem'],
  DeleteItem: ['dynamodb:DeleteItem'],
  BatchWrite: ['dynamodb:BatchWriteItem'],
  BatchWriteItem: ['dynamodb:BatchWriteItem'],
  TransactGet: ['dynamodb:GetItem'],
  TransactGetItems: ['dynamodb:GetItem'],
  TransactWrite: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
  TransactWriteItems: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** DynamoDB commands constructed anywhere in lambda/: command name → files using it. */
function dynamoCommands(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles(join(PROJECT_ROOT, 'lambda'))) {
    const text = readFileSync(file, 'utf8');
    const imports = [
      ...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(?:lib|client)-dynamodb'/g),
    ].flatMap((m) => m[1]!.split(',').map((name) => name.trim().replace(/^type\s+/, '')));
    for (const name of imports) {
      const command = /^(\w+)Command$/.exec(name.split(/\s+as\s+/)[0]!)?.[1];
      if (!command) continue;
      used.set(command, [...(used.get(command) ?? []), relative(PROJECT_ROOT, file)]);
    }
  }
  return used;
}

describe('table access of the detector and the enforcer', () => {
  let template: Template;

  beforeAll(() => {
    template = Template.fromStack(
      new CloudjailStack(testApp(false), 'Access', {
        // Agents enabled: every code path of the Lambdas (the enforcer reads agent heartbeats).
        config: {
          ...exampleConfig(),
          agents: { enabled: true, tag: { key: 'cloudjail:agent', value: 'on' }, staleAfter: '5m' },
        },
      }),
    );
  }, 120_000);
  afterAll(cleanupApps);

  it('covers every DynamoDB command the Lambda code constructs', () => {
    const used = dynamoCommands();
    expect(used.size, 'the scan finds the adapters').toBeGreaterThanOrEqual(4);
    for (const [command, files] of used) {
      const needed = COMMAND_ACTIONS[command];
      expect(
        needed,
        `${command}Command (${files.join(', ')}): add it to COMMAND_ACTIONS`,
      ).toBeDefined();
      for (const action of needed!) {
        expect(TABLE_DATA_ACTIONS, `${command}Command in ${files.join(', ')}`).toContain(action);
      }
    }
  });

  it('grants every other AWS API the Lambda code calls (EC2, Lambda, SNS, S3) to some function', () => {
    const granted = new Set<string>();
    for (const service of [
      METRICS.detectorService,
      METRICS.enforcerService,
      METRICS.notifierService,
    ]) {
      const [, fn] = functionByService(template, service);
      for (const s of policyStatements(template, roleOf(fn))) {
        for (const a of actionsOf(s)) granted.add(a);
      }
    }
    const prefixes: Record<string, string> = { ec2: 'ec2', lambda: 'lambda', sns: 'sns', s3: 's3' };
    // S3 commands whose IAM action is named differently.
    const s3Actions: Record<string, string> = {
      HeadObject: 'GetObject',
      ListObjectsV2: 'ListBucket',
    };
    let found = 0;
    for (const file of sourceFiles(join(PROJECT_ROOT, 'lambda'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-(ec2|lambda|sns|s3)'/g,
      )) {
        for (const name of m[1]!.split(',').map((n) => n.trim())) {
          const command = /^(\w+)Command$/.exec(name)?.[1];
          if (!command) continue;
          found++;
          const iamName = command === 'Invoke' ? 'InvokeFunction' : (s3Actions[command] ?? command);
          const action = `${prefixes[m[2]!]}:${iamName}`;
          expect(granted, `${name} in ${relative(PROJECT_ROOT, file)}`).toContain(action);
        }
      }
    }
    expect(found, 'EC2 entry commands, Invoke, Publish').toBeGreaterThanOrEqual(6);
  });

  it('grants exactly TABLE_DATA_ACTIONS on the table, nothing else in DynamoDB', () => {
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    // The detector's narrower grant (LeadingKeys): test/infra/detector-leading-keys.test.ts.
    for (const [service, actions] of [[METRICS.enforcerService, ENFORCER_TABLE_ACTIONS]] as const) {
      const [, fn] = functionByService(template, service);
      const dynamo = policyStatements(template, roleOf(fn)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo, service).toHaveLength(2);
      expect(dynamo.flatMap(actionsOf).sort()).toEqual([...actions].sort());
      for (const s of dynamo) {
        expect(s['Resource']).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
      }
      // Only its partition keys: it reads bans, the allowlist and its own items, and writes only
      // bans (sweep marks) and its own items — never the allowlist.
      const keys = (action: string) =>
        dynamo.find((s) => actionsOf(s).includes(action))?.['Condition'];
      expect(keys('dynamodb:Query')).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BAN', 'IGNORE', 'ENFORCER'] },
      });
      expect(keys('dynamodb:UpdateItem')).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BAN', 'ENFORCER'] },
      });
    }
  });
});

describe('the enforcer uses only ENFORCER_TABLE_ACTIONS (issue 12.2)', () => {
  it('every DynamoDB command of real enforcer runs (sweep, lease, learned quota) is granted', async () => {
    const [{ startEmbeddedDynamoDb }, { startLocalEc2, sampleAcl }, store, state, acls, enforce] =
      await Promise.all([
        import('../../local/embedded-dynamodb.js'),
        import('../../local/ec2-endpoint.js'),
        import('../../lambda/adapters/dynamodb-ban-store.js'),
        import('../../lambda/adapters/dynamodb-enforcer-state.js'),
        import('../../lambda/adapters/ec2-network-acls.js'),
        import('../../lambda/use-cases/enforce-bans.js'),
      ]);
    const ACL = 'acl-0a1b2c3d4e5f60718';
    const db = await startEmbeddedDynamoDb();
    // Quota 4: the third create fails, so the learned-quota write runs too.
    const ec2 = await startLocalEc2({ acls: [sampleAcl(ACL)], ruleQuota: 4 });
    try {
      const T0 = Date.UTC(2026, 0, 1);
      const writer = new store.DynamoDbBanStore(db.client(), db.tableName);
      for (let i = 1; i <= 4; i++) {
        await writer.putBan(
          {
            jail: 'sip',
            cidr: `198.51.100.${i}/32`,
            createdAt: T0,
            expiresAt: i === 4 ? T0 + 1000 : T0 + 3_600_000,
            source: 'detector',
            failures: 10 - i,
            banCount: 1,
          },
          T0,
          undefined,
        );
      }
      const client = db.client();
      const commands = new Set<string>();
      client.middlewareStack.add(
        (next, context) => (args) => {
          commands.add(String(context.commandName));
          return next(args);
        },
        { step: 'initialize', name: 'recordCommands' },
      );
      let now = T0;
      const deps = {
        store: new store.DynamoDbBanStore(client, db.tableName),
        state: new state.DynamoDbEnforcerState(client, db.tableName),
        nacls: new acls.Ec2NetworkAcls({ client: ec2.client() }),
        jails: [{ name: 'sip', deny: { kind: 'all' as const } }],
        ignoreip: [],
        targets: [
          {
            naclId: ACL,
            ipv4Band: { first: 1, last: 18 },
            ipv6Band: { first: 19, last: 36 },
            direction: 'inbound' as const,
            adoptForeign: false,
          },
        ],
        settings: {
          schedule: 'rate(1 minute)',
          maxMutationsPerRun: 40,
          dryRun: false,
          ruleQuota: 20,
        },
        now: () => now,
        sleep: async () => {},
      };
      await enforce.enforceBans(deps);
      now = T0 + 2000; // the fourth ban expired: sweep
      const second = await enforce.enforceBans(deps);
      expect(second.swept).toBeGreaterThanOrEqual(0);
      await enforce.enforceBans(deps, { dryRun: true });
      expect(commands).toEqual(new Set(['QueryCommand', 'UpdateItemCommand']));
      for (const command of commands) {
        for (const action of COMMAND_ACTIONS[command.replace(/Command$/, '')] ?? ['?']) {
          expect(ENFORCER_TABLE_ACTIONS as readonly string[]).toContain(action);
        }
      }
    } finally {
      await ec2.stop();
      await db.stop();
    }
  }, 60_000);
});
