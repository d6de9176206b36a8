/**
 * The deployed template, asserted part by part with aws-cdk-lib/assertions (no snapshots): one
 * synth of the repo's example cdk.json context with the cdk-nag AwsSolutions checks, reused by
 * every test. Unbundled (the template is the same); the real bundles are checked on the output of
 * `npx cdk synth` in cdk-app.test.ts and on the user-filter variant in filter-bundle.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banToItem } from '../../lambda/adapters/dynamodb-ban-store.js';
import { ITEM, TABLE_KEYS } from '../../lambda/adapters/dynamodb-table.js';
import { loadCloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import { ENV } from '../../lambda/config/env-names.js';
import type { Ban } from '../../lambda/core/ban.js';
import { LAMBDA_FILTER_DIR, PROJECT_ROOT, SCHEDULE_EVENT_SOURCE } from '../../lib/cloudjail.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { subscriptionFilterPattern, subscriptionPlan } from '../../lib/filter-patterns.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { METRICS, TABLE_SCHEMA } from '../../lib/runtime-contract.js';
import {
  actionsOf,
  allStatements,
  cleanupApps,
  environmentOf,
  exampleConfig,
  functionByService,
  policyStatements,
  type Resources,
  resourcesOf,
  roleOf,
  testApp,
} from './helpers.js';

const NACL_MUTATIONS = [
  'ec2:CreateNetworkAclEntry',
  'ec2:ReplaceNetworkAclEntry',
  'ec2:DeleteNetworkAclEntry',
];

interface ExampleJail {
  readonly name: string;
  readonly filter: string;
  readonly logGroups: string[];
}

/**
 * Lambda event filtering for the pattern shapes the stack uses: nested objects, arrays of literal
 * values (exact match) and `{ prefix }` rules. Any other rule fails the test (unsupported here).
 */
function filterMatches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((rule) => {
      if (typeof rule === 'string' || typeof rule === 'number') return rule === value;
      if (typeof rule === 'object' && rule !== null && 'prefix' in rule) {
        return typeof value === 'string' && value.startsWith(String(rule.prefix));
      }
      throw new Error(`unsupported filter rule ${JSON.stringify(rule)}`);
    });
  }
  if (typeof pattern !== 'object' || pattern === null) throw new Error('bad pattern');
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, sub]) =>
    filterMatches(sub, (value as Record<string, unknown>)[key]),
  );
}

describe('stack from the example cdk.json context (with cdk-nag)', () => {
  let template: Template;
  let outdir: string;
  let reportText: string;
  const config = exampleConfig();
  const jails = config['jails'] as ExampleJail[];
  const groups = [...new Set(jails.flatMap((j) => j.logGroups))];

  beforeAll(() => {
    const app = testApp(false);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CloudjailStack(app, 'Cloudjail', { config, configDir: PROJECT_ROOT });
    // Throws "Validation failed" on any unacknowledged cdk-nag finding.
    const assembly = app.synth();
    outdir = assembly.directory;
    reportText = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
    template = Template.fromStack(stack);
  }, 120_000);
  afterAll(cleanupApps);

  it('passes cdk-nag AwsSolutions: the plugin ran and reported no violation', () => {
    const report = JSON.parse(reportText) as { pluginReports: { conclusion: string }[] };
    // Only failing plugins are listed; cdk-nag is proven to run in nag.test.ts.
    expect(report.pluginReports).toEqual([]);
  });

  it('runs every function on arm64 with an explicit Node runtime >= 22', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    expect(functions.length).toBe(3);
    for (const fn of functions) {
      const major = Number(/^nodejs(\d+)\.x$/.exec(String(fn.Properties['Runtime']))?.[1]);
      expect(major).toBeGreaterThanOrEqual(22);
      expect(fn.Properties['Architectures']).toEqual(['arm64']);
      expect(fn.Properties['Handler']).toBe('index.handler');
    }
  });

  it('gives the enforcer a reserved concurrency of exactly 1 (the single NACL writer)', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    expect(enforcer['ReservedConcurrentExecutions']).toBe(1);
    for (const service of [METRICS.detectorService, METRICS.notifierService]) {
      const [, fn] = functionByService(template, service);
      expect(fn['ReservedConcurrentExecutions']).toBeUndefined();
    }
  });

  it('creates one on-demand table with pk/sk, TTL on `ttl`, PITR, deletion protection, a stream', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      Replicas: [
        Match.objectLike({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    // The names come from the store's own module.
    expect([TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey, TABLE_SCHEMA.ttlAttribute]).toEqual([
      TABLE_KEYS.partitionKey,
      TABLE_KEYS.sortKey,
      TABLE_KEYS.ttl,
    ]);
  });

  it('subscribes the detector once to each configured log group, pre-selecting candidates', () => {
    const [detectorId] = functionByService(template, METRICS.detectorService);
    const filters = Object.values(
      template.findResources('AWS::Logs::SubscriptionFilter') as Resources,
    );
    expect(filters).toHaveLength(groups.length);
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Resources;
    const groupName = (value: unknown): unknown => {
      const ref = (value as { Ref?: string }).Ref;
      return ref ? logGroups[ref]?.Properties['LogGroupName'] : value;
    };
    for (const group of groups) {
      const matching = filters.filter((f) => groupName(f.Properties['LogGroupName']) === group);
      expect(matching, group).toHaveLength(1);
      const filter = matching[0]!.Properties;
      expect(filter['DestinationArn']).toEqual({ 'Fn::GetAtt': [detectorId, 'Arn'] });
      const specs = jails.filter((j) => j.logGroups.includes(group)).map((j) => j.filter);
      const pattern = subscriptionFilterPattern(specs);
      expect(pattern, 'built-in filters get a pre-selection pattern').not.toBe('');
      expect(filter['FilterPattern']).toBe(pattern);
    }
    // CloudWatch Logs may invoke the detector, once per log group, from that group only.
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission') as Resources,
    );
    expect(permissions).toHaveLength(groups.length);
    for (const p of permissions) {
      expect(p.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [detectorId, 'Arn'] },
        Principal: 'logs.amazonaws.com',
      });
      expect(JSON.stringify(p.Properties['SourceArn'])).toMatch(/LogGroup|log-group/);
    }
  });

  it('installs exactly the subscription filters the embedded mode installs (subscriptionPlan)', () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Resources;
    const groupName = (value: unknown): unknown => {
      const ref = (value as { Ref?: string }).Ref;
      return ref ? logGroups[ref]?.Properties['LogGroupName'] : value;
    };
    const installed = Object.values(
      template.findResources('AWS::Logs::SubscriptionFilter') as Resources,
    ).map((f) => ({
      logGroup: groupName(f.Properties['LogGroupName']),
      filterName: f.Properties['FilterName'],
      filterPattern: f.Properties['FilterPattern'],
    }));
    const planned = subscriptionPlan(loadCloudjailConfig(config).jails).map(
      ({ logGroup, filterName, filterPattern }) => ({ logGroup, filterName, filterPattern }),
    );
    expect(installed).toEqual(planned);
  });

  it('creates the log groups marked "create" (retained) and imports the others by name', () => {
    const settings = (config['logGroups'] ?? {}) as Record<string, { create?: boolean }>;
    const created = Object.entries(settings)
      .filter(([name, s]) => !name.startsWith('//') && s.create)
      .map(([name]) => name);
    for (const name of created) {
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: Match.objectLike({ LogGroupName: name, RetentionInDays: 30 }),
        DeletionPolicy: 'Retain',
      });
    }
    // 3 function log groups (30-day retention) + the created source groups.
    template.resourceCountIs('AWS::Logs::LogGroup', 3 + created.length);
  });

  it('scopes NACL mutations to arn:<partition>:ec2:<region>:<account>:network-acl/<id>', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const statements = policyStatements(template, roleOf(enforcer));
    const mutate = statements.filter((s) => actionsOf(s).some((a) => NACL_MUTATIONS.includes(a)));
    expect(mutate).toHaveLength(1);
    expect(actionsOf(mutate[0]!)).toEqual(NACL_MUTATIONS);
    expect(mutate[0]!['Effect']).toBe('Allow');
    const ids = (config['targets'] as { naclId: string }[]).map((t) => t.naclId);
    expect(resourcesOf(mutate[0]!)).toEqual(
      ids.map((id) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':ec2:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:network-acl/${id}`,
          ],
        ],
      })),
    );
    const describeStatements = statements.filter((s) =>
      actionsOf(s).includes('ec2:DescribeNetworkAcls'),
    );
    expect(describeStatements).toHaveLength(1);
    expect(actionsOf(describeStatements[0]!)).toEqual(['ec2:DescribeNetworkAcls']);
    expect(describeStatements[0]!['Resource']).toBe('*');
  });

  it('grants "*" nowhere but DescribeNetworkAcls, and no wildcard actions', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const enforcerStatements = policyStatements(template, roleOf(enforcer));
    for (const s of allStatements(template)) {
      const resources = resourcesOf(s);
      if (resources.includes('*')) {
        expect(actionsOf(s)).toEqual(['ec2:DescribeNetworkAcls']);
        expect(enforcerStatements).toContainEqual(s);
      }
      for (const action of actionsOf(s)) expect(action).not.toMatch(/^\*$|:\*$/);
      // Nothing else may touch NACLs (or EC2 at all).
      if (!enforcerStatements.includes(s)) {
        expect(actionsOf(s).some((a) => a.startsWith('ec2:'))).toBe(false);
      }
    }
  });

  it('uses no managed policy: each function may write only to its own log group', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role') as Resources)) {
      expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
    }
    for (const service of [
      METRICS.detectorService,
      METRICS.enforcerService,
      METRICS.notifierService,
    ]) {
      const [, fn] = functionByService(template, service);
      const logGroupId = (fn['LoggingConfig'] as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const logs = policyStatements(template, roleOf(fn)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('logs:')),
      );
      expect(logs).toHaveLength(1);
      expect(actionsOf(logs[0]!).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs[0]!['Resource']).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Action: 'sts:AssumeRole',
              Principal: { Service: 'lambda.amazonaws.com' },
            }),
          ],
        },
      });
    }
  });

  it('lets the detector invoke the enforcer (unqualified ARN) and nothing else', () => {
    const [, detector] = functionByService(template, METRICS.detectorService);
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const invokes = policyStatements(template, roleOf(detector)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('lambda:')),
    );
    expect(invokes).toHaveLength(1);
    expect(actionsOf(invokes[0]!)).toEqual(['lambda:InvokeFunction']);
    expect(invokes[0]!['Resource']).toEqual({ 'Fn::GetAtt': [enforcerId, 'Arn'] });
  });

  it('schedules the enforcer with EventBridge Scheduler: rate, retry policy, DLQ', () => {
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const schedule = (config['enforcement'] as { schedule?: string } | undefined)?.schedule;
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const [, resource] = Object.entries(
      template.findResources('AWS::Scheduler::Schedule') as Resources,
    )[0]!;
    const props = resource.Properties;
    expect(props['ScheduleExpression']).toBe(schedule ?? 'rate(1 minute)');
    expect(props['State']).toBe('ENABLED');
    const target = props['Target'] as Record<string, unknown>;
    expect(target['Arn']).toEqual({ 'Fn::GetAtt': [enforcerId, 'Arn'] });
    expect(JSON.parse(String(target['Input']))).toEqual({ source: SCHEDULE_EVENT_SOURCE });
    expect(target['RetryPolicy']).toEqual({
      MaximumEventAgeInSeconds: 60,
      MaximumRetryAttempts: 2,
    });
    const dlqId = (target['DeadLetterConfig'] as { Arn: { 'Fn::GetAtt': [string] } }).Arn[
      'Fn::GetAtt'
    ][0];
    expect(template.findResources('AWS::SQS::Queue')[dlqId]).toBeDefined();
    // The scheduler role: assumable by Scheduler from this account only; invokes the enforcer's
    // unqualified ARN and writes its DLQ, nothing else.
    const roleId = (target['RoleArn'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const role = (template.findResources('AWS::IAM::Role') as Resources)[roleId]!;
    expect(role.Properties['AssumeRolePolicyDocument']).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    const statements = policyStatements(template, roleId);
    expect(statements.map((s) => [actionsOf(s), s['Resource']])).toEqual([
      [['lambda:InvokeFunction'], { 'Fn::GetAtt': [enforcerId, 'Arn'] }],
      [['sqs:SendMessage'], { 'Fn::GetAtt': [dlqId, 'Arn'] }],
    ]);
  });

  it('sends failed async invocations of detector and enforcer to their own SQS DLQs', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    expect(Object.keys(queues)).toHaveLength(3);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
      });
    }
    const destinations = new Set<string>();
    for (const service of [METRICS.detectorService, METRICS.enforcerService]) {
      const [id, fn] = functionByService(template, service);
      const configs = Object.values(
        template.findResources('AWS::Lambda::EventInvokeConfig') as Resources,
      ).filter((c) => JSON.stringify(c.Properties['FunctionName']) === JSON.stringify({ Ref: id }));
      expect(configs).toHaveLength(1);
      const destination = (
        configs[0]!.Properties['DestinationConfig'] as {
          OnFailure: { Destination: { 'Fn::GetAtt': [string, string] } };
        }
      ).OnFailure.Destination['Fn::GetAtt'][0];
      expect(queues[destination], `${service} DLQ is a queue`).toBeDefined();
      destinations.add(destination);
      // The function may send to its DLQ.
      expect(
        policyStatements(template, roleOf(fn)).some(
          (s) =>
            actionsOf(s).includes('sqs:SendMessage') &&
            JSON.stringify(s['Resource']) ===
              JSON.stringify({ 'Fn::GetAtt': [destination, 'Arn'] }),
        ),
      ).toBe(true);
    }
    expect(destinations.size).toBe(2);
  });

  it('feeds the notifier only ban items (pk = "BAN" exactly) from the table stream', () => {
    const [notifierId] = functionByService(template, METRICS.notifierService);
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping') as Resources,
    );
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]!.Properties;
    expect(mapping).toMatchObject({
      FunctionName: { Ref: notifierId },
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      StartingPosition: 'LATEST',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const dlq = (
      mapping['DestinationConfig'] as { OnFailure: { Destination: { 'Fn::GetAtt': [string] } } }
    ).OnFailure.Destination['Fn::GetAtt'][0];
    expect(dlq).toMatch(/NotifierDlq/);
    expect(template.findResources('AWS::SQS::Queue')[dlq]).toBeDefined();
    const filters = (mapping['FilterCriteria'] as { Filters: { Pattern: string }[] }).Filters;
    expect(filters).toHaveLength(1);
    const pattern = JSON.parse(filters[0]!.Pattern) as unknown;
    expect(pattern).toEqual({ dynamodb: { Keys: { pk: { S: ['BAN'] } } } });

    // What the pattern lets through: the keys the store really writes.
    const ban: Ban = {
      jail: 'freeswitch',
      cidr: '192.0.2.7/32',
      createdAt: 1_700_000_000_000,
      expiresAt: 1_700_003_600_000,
      source: 'detector',
      failures: 5,
      banCount: 1,
    };
    const banItem = banToItem(ban);
    const record = (pk: unknown, sk: unknown) => ({
      eventName: 'REMOVE',
      dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } } },
    });
    expect(filterMatches(pattern, record(banItem['pk'], banItem['sk']))).toBe(true);
    for (const [pk, sk] of [
      [`${ITEM.failurePrefix}freeswitch`, '192.0.2.7'],
      [ITEM.ignore, '198.51.100.0/24#*'],
      [ITEM.stats, 'freeswitch'],
      ['BANANA', 'x'],
      ['BAN#', 'x'],
      ['ban', 'x'],
    ]) {
      expect(filterMatches(pattern, record(pk, sk)), `${pk} filtered out`).toBe(false);
    }
    // The notifier may read that stream only, and publish to the ban topic only.
    const [, notifier] = functionByService(template, METRICS.notifierService);
    const statements = policyStatements(template, roleOf(notifier));
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    for (const s of dynamo) {
      expect(JSON.stringify(s['Resource'])).toContain('StreamArn');
      expect(actionsOf(s).every((a) => !/Put|Update|Delete|Write/.test(a))).toBe(true);
    }
  });

  it('alarms on detector errors, DLQ depth, bans not enforced and enforcer throttling', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    const [detectorId] = functionByService(template, METRICS.detectorService);
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const find = (pred: (p: Record<string, unknown>) => boolean) =>
      alarms.filter(([, a]) => pred(a.Properties));
    const dims = (p: Record<string, unknown>) => JSON.stringify(p['Dimensions']);
    expect(
      find(
        (p) =>
          p['Namespace'] === 'AWS/Lambda' &&
          p['MetricName'] === 'Errors' &&
          dims(p).includes(detectorId),
      ),
    ).toHaveLength(1);
    const dlqAlarms = find((p) => p['MetricName'] === 'ApproximateNumberOfMessagesVisible');
    const queueIds = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(dlqAlarms).toHaveLength(3);
    for (const id of queueIds) {
      expect(dlqAlarms.filter(([, a]) => dims(a.Properties).includes(id))).toHaveLength(1);
    }
    expect(
      find(
        (p) =>
          p['MetricName'] === METRICS.bansNotEnforced &&
          p['Namespace'] === METRICS.namespace &&
          dims(p) === JSON.stringify([{ Name: 'service', Value: METRICS.enforcerService }]),
      ),
    ).toHaveLength(1);
    expect(
      find(
        (p) =>
          p['MetricName'] === 'Throttles' &&
          p['Namespace'] === 'AWS/Lambda' &&
          dims(p).includes(enforcerId) &&
          // Sustained, not a burst: three 5-minute periods in a row.
          p['Period'] === 300 &&
          p['EvaluationPeriods'] === 3 &&
          p['DatapointsToAlarm'] === 3,
      ),
    ).toHaveLength(1);
    const alarmTopic = Object.entries(template.findResources('AWS::SNS::Topic') as Resources).find(
      ([, t]) => t.Properties['DisplayName'] === 'cloudjail alarms',
    )![0];
    for (const [, alarm] of alarms) {
      expect(alarm.Properties['AlarmActions'], 'every alarm notifies').toEqual([
        { Ref: alarmTopic },
      ]);
      expect(alarm.Properties['TreatMissingData']).toBe('notBreaching');
    }
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('publishes bans to a TLS-only SNS topic (e-mail subscription when configured)', () => {
    const email = (config['notifications'] as { email?: string } | undefined)?.email;
    const topics = template.findResources('AWS::SNS::Topic') as Resources;
    expect(Object.keys(topics)).toHaveLength(2);
    template.resourceCountIs('AWS::SNS::Subscription', email ? 2 : 0);
    for (const id of Object.keys(topics)) {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
    const banTopic = Object.entries(topics).find(
      ([, t]) => t.Properties['DisplayName'] === 'cloudjail bans',
    )![0];
    const [, notifier] = functionByService(template, METRICS.notifierService);
    const publish = policyStatements(template, roleOf(notifier)).filter((s) =>
      actionsOf(s).includes('sns:Publish'),
    );
    expect(publish.map((s) => s['Resource'])).toEqual([{ Ref: banTopic }]);
    expect(environmentOf(notifier)[ENV.topicArn]).toEqual({ Ref: banTopic });
  });

  it('hands config, table, enforcer, topic and filter dir to the detector', () => {
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const [, detector] = functionByService(template, METRICS.detectorService);
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    const env = environmentOf(detector);
    const shipped = JSON.parse(String(env[ENV.config])) as Record<string, unknown>;
    expect(shipped).toMatchObject({ jails: config['jails'], targets: config['targets'] });
    expect(JSON.stringify(shipped)).not.toContain('"//');
    expect(env[ENV.tableName]).toEqual({ Ref: tableId });
    expect(env[ENV.enforcerFunction]).toEqual({ Ref: enforcerId });
    expect(env[ENV.filterDir]).toBe(LAMBDA_FILTER_DIR);
    expect(env['POWERTOOLS_METRICS_NAMESPACE']).toBe(METRICS.namespace);
  });

  it('hands the validated config and the table name to the enforcer', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    const env = environmentOf(enforcer);
    expect(env[ENV.tableName]).toEqual({ Ref: tableId });
    expect(JSON.parse(String(env[ENV.config]))).toMatchObject({
      targets: config['targets'],
      enforcement: config['enforcement'],
    });
    // Enforcer and table: read/write on the table itself (no other table, no stream).
    const dynamo = policyStatements(template, roleOf(enforcer)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo.length).toBeGreaterThan(0);
    for (const s of dynamo) {
      for (const r of resourcesOf(s)) {
        expect(JSON.stringify(r)).toMatch(new RegExp(`${tableId}|AWS::NoValue`));
      }
    }
  });

  it('exports the outputs the CLI reads', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
    expect(JSON.parse(String(outputs[STACK_OUTPUTS.config]!['Value']))).toMatchObject({
      jails: config['jails'],
    });
  });
});

describe('stack with a notification e-mail', () => {
  afterAll(cleanupApps);

  it('subscribes the address to the ban topic and the alarm topic', () => {
    const config = { ...exampleConfig(), notifications: { email: 'ops@example.com' } };
    const template = Template.fromStack(new CloudjailStack(testApp(false), 'Mail', { config }));
    const topics = template.findResources('AWS::SNS::Topic') as Resources;
    const subscriptions = Object.values(
      template.findResources('AWS::SNS::Subscription') as Resources,
    ).map((s) => s.Properties);
    expect(subscriptions).toHaveLength(2);
    for (const s of subscriptions) {
      expect(s).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
    }
    expect(subscriptions.map((s) => (s['TopicArn'] as { Ref: string }).Ref).sort()).toEqual(
      Object.keys(topics).sort(),
    );
  }, 120_000);
});
