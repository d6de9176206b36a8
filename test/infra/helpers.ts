/**
 * Shared helpers of the infrastructure tests: the example configuration from cdk.json, app
 * construction in a temporary outdir, and small template queries.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { PROJECT_ROOT } from '../../lib/cloudjail.js';
import { CONFIG_CONTEXT_KEY } from '../../lib/outputs.js';

export type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; [key: string]: unknown }
>;
export type Statement = Record<string, unknown>;

/** The repo's cdk.json `cloudjail` context: the example every fresh clone synthesizes. */
export function exampleConfig(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return structuredClone(cdkJson.context[CONFIG_CONTEXT_KEY]) as Record<string, unknown>;
}

const outdirs: string[] = [];

/**
 * A CDK app writing into its own temporary directory. `bundle: false` skips esbuild
 * (`aws:cdk:bundling-stacks: []`): the template is the same, the assets are not built.
 */
export function testApp(bundle = true): App {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-cdk-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
}

export function cleanupApps(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The Lambda function whose POWERTOOLS_SERVICE_NAME is `service`: [logical id, properties]. */
export function functionByService(
  template: Template,
  service: string,
): [string, Record<string, unknown>] {
  const found = Object.entries(template.findResources('AWS::Lambda::Function') as Resources).filter(
    ([, r]) =>
      (r.Properties['Environment'] as { Variables: Record<string, unknown> } | undefined)
        ?.Variables['POWERTOOLS_SERVICE_NAME'] === service,
  );
  expect(found, `one ${service} function`).toHaveLength(1);
  const [id, resource] = found[0]!;
  return [id, resource.Properties];
}

export function environmentOf(fn: Record<string, unknown>): Record<string, unknown> {
  return (fn['Environment'] as { Variables: Record<string, unknown> }).Variables;
}

/** Every statement of the inline policies attached to a role (by logical id). */
export function policyStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter(
    (p) => JSON.stringify(p.Properties['Roles']) === JSON.stringify([{ Ref: roleLogicalId }]),
  );
  return policies.flatMap(
    (p) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement,
  );
}

/** Every statement of every inline policy in the template. */
export function allStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Resources).flatMap(
    (p) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement,
  );
}

export function roleOf(fn: Record<string, unknown>): string {
  return (fn['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

export function actionsOf(statement: Statement): string[] {
  return [statement['Action']].flat().map(String);
}

export function resourcesOf(statement: Statement): unknown[] {
  return [statement['Resource']].flat();
}
