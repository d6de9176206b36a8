/**
 * The ban-list bucket (host tier): private, encrypted, TLS-only, versioned with noncurrent
 * versions expiring; the enforcer may write and read the ban-list key and nothing else in it;
 * its name reaches the enforcer (environment) and the CLI (stack output).
 */
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/config/env-names.js';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import { BAN_LIST_NONCURRENT_DAYS } from '../../lib/ban-list-bucket.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { METRICS } from '../../lib/runtime-contract.js';
import {
  actionsOf,
  allStatements,
  cleanupApps,
  environmentOf,
  exampleConfig,
  functionByService,
  policyStatements,
  type Resources,
  roleOf,
  testApp,
} from './helpers.js';

describe('ban-list bucket', () => {
  let template: Template;
  let bucketId: string;
  let bucket: Record<string, unknown>;

  beforeAll(() => {
    template = Template.fromStack(
      new CloudjailStack(testApp(false), 'BanList', { config: exampleConfig() }),
    );
    const buckets = Object.entries(template.findResources('AWS::S3::Bucket') as Resources);
    expect(buckets).toHaveLength(1);
    [bucketId, { Properties: bucket }] = buckets[0]! as [
      string,
      { Properties: Record<string, unknown> },
    ];
  }, 120_000);
  afterAll(cleanupApps);

  it('is private, encrypted, versioned; replaced versions expire', () => {
    expect(bucket['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ],
    });
    expect(bucket['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
    const rules = (bucket['LifecycleConfiguration'] as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: BAN_LIST_NONCURRENT_DAYS },
      }),
    );
    const retained = template.findResources('AWS::S3::Bucket') as Record<
      string,
      Record<string, unknown>
    >;
    expect(retained[bucketId]!['DeletionPolicy']).toBe('Retain');
  });

  it('denies every request without TLS', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy') as Resources);
    expect(policies).toHaveLength(1);
    const statements = (
      policies[0]!.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }
    ).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('the enforcer may put and get the ban-list object only; no other function touches the bucket', () => {
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const s3 = policyStatements(template, roleOf(enforcer)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('s3:')),
    );
    expect(s3).toHaveLength(1);
    expect(actionsOf(s3[0]!).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(s3[0]!['Resource']).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${BAN_LIST_KEY}`]],
    });
    expect(environmentOf(enforcer)[ENV.banListBucket]).toEqual({ Ref: bucketId });
    for (const service of [METRICS.detectorService, METRICS.notifierService]) {
      const [, fn] = functionByService(template, service);
      expect(environmentOf(fn)[ENV.banListBucket], service).toBeUndefined();
      const touches = policyStatements(template, roleOf(fn)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('s3:')),
      );
      expect(touches, service).toEqual([]);
    }
    // Nothing grants the bucket itself (ListBucket, bucket-wide object wildcards) to anyone.
    const bucketWide = allStatements(template).filter(
      (s) =>
        s['Effect'] === 'Allow' &&
        JSON.stringify(s['Resource']).includes(`"${bucketId}"`) &&
        !JSON.stringify(s['Resource']).includes(BAN_LIST_KEY) &&
        !JSON.stringify(s['Resource']).includes('agents/'),
    );
    expect(bucketWide).toEqual([]);
  });

  it('names the bucket in a stack output the CLI reads', () => {
    const outputs = template.findOutputs(STACK_OUTPUTS.banListBucket);
    expect(outputs[STACK_OUTPUTS.banListBucket]?.['Value']).toEqual({ Ref: bucketId });
  });
});

describe('alarms per tier', () => {
  afterAll(cleanupApps);

  const tiersAlarmed = (naclOverflowAlarm?: boolean) => {
    const template = Template.fromStack(
      new CloudjailStack(testApp(false), `Tiers${String(naclOverflowAlarm)}`, {
        config: exampleConfig(),
        ...(naclOverflowAlarm === undefined ? {} : { naclOverflowAlarm }),
      }),
    );
    return Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources)
      .map((a) => a.Properties)
      .filter((p) => p['MetricName'] === METRICS.bansNotEnforced)
      .map(
        (p) =>
          (p['Dimensions'] as { Name: string; Value: string }[]).find(
            (d) => d.Name === METRICS.tierDimension,
          )?.Value,
      )
      .sort();
  };

  it('alarms on both tiers by default; with agents everywhere (naclOverflowAlarm: false) on the hosts tier only', () => {
    expect(tiersAlarmed()).toEqual([METRICS.hostsTier, METRICS.naclTier].sort());
    expect(tiersAlarmed(false)).toEqual([METRICS.hostsTier]);
  }, 120_000);
});
