/**
 * The host tier in CDK (config `agents`): least-privilege agent policy, the bundle asset, the SSM
 * association by tag, the behind/silent alarm, the enforcer's read grant; cdk-nag clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { cleanupApps, exampleConfig, type Resources, testApp } from './helpers.js';

function agentsConfig(): Record<string, unknown> {
  return {
    ...exampleConfig(),
    agents: { enabled: true, tag: { key: 'cloudjail:agent', value: 'enabled' }, staleAfter: '5m' },
  };
}

describe('AgentFleet', () => {
  afterAll(cleanupApps);

  it('is absent unless agents are enabled', () => {
    const stack = new CloudjailStack(testApp(false), 'NoAgents', { config: exampleConfig() });
    expect(stack.cloudjail.agentFleet).toBeUndefined();
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::SSM::Association'))).toEqual(
      [],
    );
  }, 120_000);

  it('grants agents the ban list (read) and their own heartbeat (write) only', () => {
    const stack = new CloudjailStack(testApp(false), 'Agents', { config: agentsConfig() });
    const template = Template.fromStack(stack);
    const policies = template.findResources('AWS::IAM::ManagedPolicy') as Resources;
    const [policy] = Object.values(policies);
    const statements = (
      policy!.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }
    ).Statement;
    const text = JSON.stringify(statements);
    expect(statements.map((s) => [s['Sid'], s['Action']])).toEqual([
      ['ReadBanList', 's3:GetObject'],
      ['WriteOwnHeartbeat', 's3:PutObject'],
      ['ReadAgentBundle', 's3:GetObject'],
    ]);
    expect(text).toContain('/ban-list/v1/bans.json.gz');
    expect(text).toContain('/agents/$' + '{aws:userid}.json');
    expect(text).not.toMatch(/"s3:\*"|agents\/\*/);
    const associations = Object.values(
      template.findResources('AWS::SSM::Association') as Resources,
    );
    expect(associations).toHaveLength(1);
    expect(associations[0]?.Properties['Targets']).toEqual([
      { Key: 'tag:cloudjail:agent', Values: ['enabled'] },
    ]);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(JSON.stringify(alarms)).toContain('AgentsBehind');
    expect(JSON.stringify(alarms)).toContain('AgentsSilent');
    expect(Object.keys(template.findOutputs('AgentBucketName'))).toEqual(['AgentBucketName']);
  }, 120_000);

  it('is cdk-nag clean with agents enabled', () => {
    const app = testApp(false);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new CloudjailStack(app, 'NagAgents', { config: agentsConfig() });
    let error: unknown;
    try {
      app.synth();
    } catch (e) {
      error = e;
    }
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      }[];
    };
    const found = report.pluginReports.flatMap((r) =>
      r.violations.flatMap((v) =>
        v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`),
      ),
    );
    expect(found).toEqual([]);
    expect(error).toBeUndefined();
  }, 120_000);
});
