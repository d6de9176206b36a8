/**
 * The deployed template, asserted part by part with aws-cdk-lib/assertions (no snapshots). One
 * bundled synth of the repo's example cdk.json context (with cdk-nag), one unbundled synth of a
 * variant; config errors fail before synth.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/config/env-names.js';
import { ConfigError } from '../../lambda/core/errors.js';
import {
  listBuiltinFilterFiles,
  PROJECT_ROOT,
  resolveCloudjailProps,
} from '../../lib/cloudjail.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { METRICS, TABLE_SCHEMA } from '../../lib/runtime-contract.js';
import { cleanupApps, exampleConfig, missingHandlers, testApp } from './helpers.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function functionByService(template: Template, service: string): [string, Record<string, unknown>] {
  const found = Object.entries(template.findResources('AWS::Lambda::Function') as Resources).filter(
    ([, r]) =>
      (r.Properties['Environment'] as { Variables: Record<string, unknown> } | undefined)
        ?.Variables['POWERTOOLS_SERVICE_NAME'] === service,
  );
  expect(found, `one ${service} function`).toHaveLength(1);
  const [id, resource] = found[0]!;
  return [id, resource.Properties];
}

function policyStatements(template: Template, roleLogicalId: string): Record<string, unknown>[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter(
    (p) => JSON.stringify(p.Properties['Roles']).includes(roleLogicalId),
  );
  return policies.flatMap(
    (p) => (p.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement,
  );
}

function roleOf(fn: Record<string, unknown>): string {
  return (fn['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

const NACL_MUTATIONS = [
  'ec2:CreateNetworkAclEntry',
  'ec2:ReplaceNetworkAclEntry',
  'ec2:DeleteNetworkAclEntry',
];

describe.skipIf(missingHandlers.length > 0)('stack from the example cdk.json context', () => {
  let template: Template;
  let outdir: string;
  const config = exampleConfig();

  beforeAll(() => {
    const app = testApp(true);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CloudjailStack(app, 'Cloudjail', { config, configDir: PROJECT_ROOT });
    // Throws "Validation failed" on any unacknowledged cdk-nag finding.
    const assembly = app.synth();
    outdir = assembly.directory;
    template = Template.fromStack(stack);
  }, 120_000);
  afterAll(cleanupApps);

  it('passes cdk-nag AwsSolutions with every finding fixed or acknowledged', () => {
    // app.synth() in beforeAll would have thrown otherwise; the report lists no failure either.
    const report = join(outdir, 'validation-report.json');
    if (existsSync(report)) {
      expect(readFileSync(report, 'utf8')).not.toMatch(/"status":\s*"failure"/);
    }
    expect(template.toJSON()['Resources']).toBeDefined();
  });

  it('runs every function on arm64 with an explicit Node runtime >= 22', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    expect(functions.length).toBe(3);
    for (const fn of functions) {
      const runtime = String(fn.Properties['Runtime']);
      const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
      expect(major).toBeGreaterThanOrEqual(22);
      expect(fn.Properties['Architectures']).toEqual(['arm64']);
    }
  });

  it('gives the enforcer a reserved concurrency of exactly 1 (the single NACL writer)', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    expect(enforcer['ReservedConcurrentExecutions']).toBe(1);
    const [, detector] = functionByService(template, METRICS.detectorService);
    expect(detector['ReservedConcurrentExecutions']).toBeUndefined();
  });

  it('creates an on-demand table with TTL, PITR, deletion protection and a stream', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      Replicas: [
        Match.objectLike({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('subscribes the detector to each configured log group exactly once', () => {
    const [detectorId] = functionByService(template, METRICS.detectorService);
    const jails = config['jails'] as { logGroups: string[] }[];
    const groups = [...new Set(jails.flatMap((j) => j.logGroups))];
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
      expect(matching[0]!.Properties['DestinationArn']).toEqual({
        'Fn::GetAtt': [detectorId, 'Arn'],
      });
    }
    // CloudWatch Logs may invoke the detector (resource policy), once per log group.
    template.resourceCountIs('AWS::Lambda::Permission', groups.length);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'logs.amazonaws.com',
      Action: 'lambda:InvokeFunction',
      SourceArn: Match.anyValue(),
    });
  });

  it('creates the log groups marked "create" and imports the others by name', () => {
    const settings = (config['logGroups'] ?? {}) as Record<string, { create?: boolean }>;
    const created = Object.entries(settings)
      .filter(([name, s]) => !name.startsWith('//') && s.create)
      .map(([name]) => name);
    for (const name of created) {
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: name });
    }
    // 3 function log groups + the created source groups.
    template.resourceCountIs('AWS::Logs::LogGroup', 3 + created.length);
  });

  it('scopes NACL mutations to the configured NACL ARNs; DescribeNetworkAcls alone on *', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const statements = policyStatements(template, roleOf(enforcer));
    const mutate = statements.find(
      (s) => JSON.stringify(s['Action']) === JSON.stringify(NACL_MUTATIONS),
    );
    expect(mutate).toBeDefined();
    const resources = [mutate!['Resource']].flat();
    const naclIds = (config['targets'] as Record<string, unknown>[]).map(
      (t) => JSON.stringify(t).match(/acl-[0-9a-f]+/)?.[0],
    );
    expect(resources).toHaveLength(naclIds.length);
    for (const id of naclIds) {
      expect(JSON.stringify(resources)).toContain(`:network-acl/${id}`);
    }
    expect(resources).not.toContain('*');
    const describeStmt = statements.find((s) => s['Action'] === 'ec2:DescribeNetworkAcls');
    expect(describeStmt?.['Resource']).toBe('*');
    // Nothing else in the template may touch NACLs.
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy') as Resources)) {
      for (const s of (policy.Properties['PolicyDocument'] as { Statement: unknown[] })
        .Statement as Record<string, unknown>[]) {
        const actions = [s['Action']].flat().map(String);
        if (actions.some((a) => a.includes('NetworkAcl') || a === 'ec2:*' || a === '*')) {
          expect(
            s === mutate ||
              s === describeStmt ||
              JSON.stringify(s) === JSON.stringify(mutate) ||
              JSON.stringify(s) === JSON.stringify(describeStmt),
          ).toBe(true);
        }
      }
    }
  });

  it('lets the detector invoke the enforcer and nothing else', () => {
    const [, detector] = functionByService(template, METRICS.detectorService);
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const invokes = policyStatements(template, roleOf(detector)).filter((s) =>
      [s['Action']].flat().some((a) => String(a).startsWith('lambda:')),
    );
    expect(invokes).toHaveLength(1);
    expect(invokes[0]!['Resource']).toEqual({ 'Fn::GetAtt': [enforcerId, 'Arn'] });
  });

  it('schedules the enforcer with EventBridge Scheduler, with a DLQ', () => {
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const schedule = (config['enforcement'] as { schedule?: string } | undefined)?.schedule;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: schedule ?? 'rate(1 minute)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [enforcerId, 'Arn'] },
        DeadLetterConfig: { Arn: Match.anyValue() },
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
      }),
    });
  });

  it('sends failed async invocations of detector and enforcer to SQS DLQs', () => {
    template.resourceCountIs('AWS::SQS::Queue', 3);
    for (const service of [METRICS.detectorService, METRICS.enforcerService]) {
      const [id] = functionByService(template, service);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: id },
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('Dlq'), 'Arn'] } },
        },
      });
    }
    // The notifier reads the table stream; failed batches go to its own DLQ.
    const [notifierId] = functionByService(template, METRICS.notifierService);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: notifierId },
      EventSourceArn: Match.anyValue(),
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('Dlq'), 'Arn'] } },
      },
      FilterCriteria: Match.objectLike({}),
    });
  });

  it('alarms on detector errors, DLQ depth, bans not enforced and enforcer throttling', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    const has = (pred: (p: Record<string, unknown>) => boolean) =>
      expect(alarms.filter((a) => pred(a.Properties)).length).toBeGreaterThan(0);
    const [detectorId] = functionByService(template, METRICS.detectorService);
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    has(
      (p) => p['MetricName'] === 'Errors' && JSON.stringify(p['Dimensions']).includes(detectorId),
    );
    expect(
      alarms.filter((a) => a.Properties['MetricName'] === 'ApproximateNumberOfMessagesVisible'),
    ).toHaveLength(3);
    has((p) => p['MetricName'] === METRICS.bansNotEnforced && p['Namespace'] === METRICS.namespace);
    has(
      (p) =>
        p['MetricName'] === 'Throttles' &&
        p['Namespace'] === 'AWS/Lambda' &&
        JSON.stringify(p['Dimensions']).includes(enforcerId),
    );
    for (const alarm of alarms) {
      expect(alarm.Properties['AlarmActions'], 'every alarm notifies').toHaveLength(1);
    }
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('publishes bans to an SNS topic with the configured e-mail subscription', () => {
    const email = (config['notifications'] as { email?: string } | undefined)?.email;
    template.resourceCountIs('AWS::SNS::Topic', 2);
    if (email) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
      });
    }
    const [, notifier] = functionByService(template, METRICS.notifierService);
    const publish = policyStatements(template, roleOf(notifier)).find(
      (s) => s['Action'] === 'sns:Publish',
    );
    expect(publish).toBeDefined();
  });

  it('hands the validated config, table, enforcer, topic and filter dir to the detector', () => {
    const [enforcerId] = functionByService(template, METRICS.enforcerService);
    const [, detector] = functionByService(template, METRICS.detectorService);
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    const env = (detector['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.parse(String(env[ENV.config]))).toMatchObject({ jails: config['jails'] });
    expect(env[ENV.tableName]).toEqual({ Ref: tableId });
    expect(env[ENV.enforcerFunction]).toEqual({ Ref: enforcerId });
    expect(env[ENV.filterDir]).toBe('/var/task/filter.d');
    expect(env[ENV.topicArn]).toBeDefined();
    expect(env['POWERTOOLS_METRICS_NAMESPACE']).toBe(METRICS.namespace);
  });

  it('bundles the built-in filter files into the detector package', () => {
    const builtins = listBuiltinFilterFiles();
    expect(builtins.length).toBeGreaterThan(0);
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    const withFilters = assets.filter((d) => existsSync(join(outdir, d, 'filter.d')));
    expect(withFilters).toHaveLength(1);
    const shipped = readdirSync(join(outdir, withFilters[0]!, 'filter.d')).sort();
    expect(shipped).toEqual(builtins);
    expect(readdirSync(join(outdir, withFilters[0]!))).toContain('index.mjs');
  });

  it('exports the outputs the CLI reads', () => {
    const outputs = template.findOutputs('*');
    for (const key of Object.values(STACK_OUTPUTS)) expect(Object.keys(outputs)).toContain(key);
    expect(JSON.parse(String(outputs[STACK_OUTPUTS.config]!['Value']))).toMatchObject({
      jails: config['jails'],
    });
  });
});

describe.skipIf(missingHandlers.length > 0)(
  'stack variant: shared group, user filter, no e-mail',
  () => {
    let template: Template;
    const dir = mkdtempSync(join(tmpdir(), 'cloudjail-conf-'));

    beforeAll(() => {
      writeFileSync(
        join(dir, 'my-sbc.conf'),
        '[Definition]\nfailregex = ^auth failed from <HOST>$\n',
      );
      const base = exampleConfig();
      const jails = base['jails'] as Record<string, unknown>[];
      const shared = (jails[0]!['logGroups'] as string[])[0]!;
      const targets = base['targets'] as Record<string, unknown>[];
      const config = {
        ...base,
        notifications: {},
        jails: [
          ...jails,
          { ...jails[0], name: 'custom', filter: 'my-sbc.conf', logGroups: [shared] },
        ],
        targets: [
          ...targets,
          JSON.parse(JSON.stringify(targets[0]).replace(/acl-[0-9a-f]+/, 'acl-0fedcba9876543210')),
        ],
      };
      const app = testApp(false);
      const stack = new CloudjailStack(app, 'Variant', {
        config,
        configDir: dir,
        deletionProtection: false,
      });
      template = Template.fromStack(stack);
    });
    afterAll(() => {
      cleanupApps();
      rmSync(dir, { recursive: true, force: true });
    });

    it('still uses one subscription filter for a group read by two jails, without pre-selection', () => {
      const base = exampleConfig();
      const groups = new Set(
        (base['jails'] as { logGroups: string[] }[]).flatMap((j) => j.logGroups),
      );
      const filters = Object.values(
        template.findResources('AWS::Logs::SubscriptionFilter') as Resources,
      );
      expect(filters).toHaveLength(groups.size);
      const shared = filters.filter((f) => String(f.Properties['FilterName']).includes('custom'));
      expect(shared).toHaveLength(1);
      // A user .conf has no known safe pattern: every line goes to the detector.
      expect(shared[0]!.Properties['FilterPattern']).toBe('');
    });

    it('rewrites the user filter path to where it is bundled', () => {
      const [, detector] = functionByService(template, METRICS.detectorService);
      const env = (detector['Environment'] as { Variables: Record<string, unknown> }).Variables;
      const jails = JSON.parse(String(env[ENV.config])).jails as { name: string; filter: string }[];
      expect(jails.find((j) => j.name === 'custom')?.filter).toBe('/var/task/filter.d/my-sbc.conf');
    });

    it('honours deletionProtection: false, has no e-mail subscription, scopes both NACLs', () => {
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
      });
      template.resourceCountIs('AWS::SNS::Subscription', 0);
      const [, enforcer] = functionByService(template, METRICS.enforcerService);
      const mutate = policyStatements(template, roleOf(enforcer)).find(
        (s) => JSON.stringify(s['Action']) === JSON.stringify(NACL_MUTATIONS),
      );
      expect([mutate!['Resource']].flat()).toHaveLength(2);
      expect(JSON.stringify(mutate!['Resource'])).toContain('network-acl/acl-0fedcba9876543210');
    });
  },
);

describe('configuration errors surface at synth, all at once', () => {
  const bad = () => {
    const config = exampleConfig();
    return {
      ...config,
      notifications: { email: 'not-an-address' },
      logGroups: { '/not/used/by/any/jail': { create: true, retentionDays: 31 } },
      bogus: true,
      jails: [
        ...(config['jails'] as unknown[]),
        { name: 'missing-file', filter: 'nowhere/missing.conf', logGroups: ['/x'] },
      ],
    };
  };

  it('throws one ConfigError listing every problem, props included', () => {
    let error: unknown;
    try {
      resolveCloudjailProps({ config: bad(), configDir: PROJECT_ROOT, detectorMemoryMb: 64 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^bogus: unknown key/m);
    expect(problems).toMatch(/notifications\.email: "not-an-address" is not an e-mail address/);
    expect(problems).toMatch(/logGroups\["\/not\/used\/by\/any\/jail"\]\.retentionDays: 31/);
    expect(problems).toMatch(/logGroups\["\/not\/used\/by\/any\/jail"\]: no jail reads/);
    expect(problems).toMatch(/detectorMemoryMb: 64 is not an integer from 128 to 10240/);
    expect((error as ConfigError).problems.length).toBeGreaterThanOrEqual(5);
  });

  it('reports a missing user filter file with the jail index', () => {
    const config = exampleConfig();
    const jails = config['jails'] as Record<string, unknown>[];
    jails.push({ ...jails[0], name: 'custom', filter: 'nowhere/missing.conf' });
    expect(() => resolveCloudjailProps({ config, configDir: PROJECT_ROOT })).toThrow(
      new RegExp(
        `jails\\[${jails.length - 1}\\]\\.filter: filter file "nowhere/missing.conf" not found`,
      ),
    );
  });

  it('includes problems from the jail and target parsers', () => {
    const config = exampleConfig();
    (config['jails'] as Record<string, unknown>[])[0]!['findtime'] = '10x';
    config['targets'] = [{ naclId: 'not-a-nacl' }];
    let error: ConfigError | undefined;
    try {
      resolveCloudjailProps({ config });
    } catch (e) {
      error = e as ConfigError;
    }
    const problems = error?.problems ?? [];
    expect(problems.some((p) => p.startsWith('jails[0]'))).toBe(true);
    expect(problems.some((p) => p.startsWith('targets'))).toBe(true);
  });

  it('makes the CDK app exit 1 with every problem on stderr (what `cdk synth` shows)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-bin-'));
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(PROJECT_ROOT, 'bin/cloudjail.ts')],
        {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            CDK_OUTDIR: outdir,
            CDK_CONTEXT_JSON: JSON.stringify({ cloudjail: bad() }),
          },
        },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/invalid cloudjail configuration \(\d+ problems\)/);
      expect(result.stderr).toContain('bogus: unknown key');
      expect(result.stderr).toContain('notifications.email');
      expect(result.stderr).toContain('nowhere/missing.conf');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(missingHandlers.length > 0)('cdk-nag is really enforced', () => {
  afterAll(cleanupApps);

  it('fails synth on an unacknowledged finding', () => {
    const app = testApp(false);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CloudjailStack(app, 'Nagged', { config: exampleConfig() });
    new sqs.Queue(stack as Stack, 'UnacknowledgedQueue');
    expect(() => app.synth()).toThrow(/[Vv]alidation/);
  });
});

describe.skipIf(missingHandlers.length > 0)(
  '`npx cdk synth` on the repo (what a fresh clone runs)',
  () => {
    it('succeeds offline with the example context and no cdk-nag error', () => {
      const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-cli-synth-'));
      try {
        const result = spawnSync(
          join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
          ['synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir],
          {
            cwd: PROJECT_ROOT,
            encoding: 'utf8',
            timeout: 180_000,
            // No credentials, no Region from the environment: synth must not need them.
            env: {
              PATH: process.env['PATH'] ?? '',
              HOME: process.env['HOME'] ?? tmpdir(),
              AWS_EC2_METADATA_DISABLED: 'true',
            },
          },
        );
        expect(result.status, result.stderr).toBe(0);
        expect(result.stderr).not.toMatch(/AwsSolutions-/);
        const template = JSON.parse(readFileSync(join(outdir, 'Cloudjail.template.json'), 'utf8'));
        expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    }, 180_000);
  },
);
