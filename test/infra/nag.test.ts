/**
 * cdk-nag is really enforced: an unacknowledged finding fails synth, every acknowledgement in
 * lib/nag.ts carries a reason and is still needed (without it, synth fails on exactly that
 * finding), and nothing else is raised. Unbundled synths: nag reads the template, not the assets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { nagAcknowledgements } from '../../lib/nag.js';
import { cleanupApps, exampleConfig, testApp } from './helpers.js';

interface Violation {
  readonly ruleName: string;
  readonly violatingConstructs: readonly { readonly constructPath: string }[];
}

/** Synthesizes with cdk-nag; returns the violations (empty when synth passed). */
function nagViolations(build: (app: ReturnType<typeof testApp>) => void): Violation[] {
  const app = testApp(false);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  build(app);
  let failed = false;
  try {
    app.synth();
  } catch (error) {
    expect(String(error)).toMatch(/ValidationFailed|Validation failed/);
    failed = true;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: Violation[] }[];
  };
  const violations = report.pluginReports.flatMap((r) => r.violations);
  expect(failed).toBe(violations.length > 0);
  return violations;
}

function findings(violations: readonly Violation[]): string[] {
  return violations
    .flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`))
    .sort();
}

describe('cdk-nag AwsSolutions on the Cloudjail stack', () => {
  afterEach(() => vi.restoreAllMocks());
  afterAll(cleanupApps);

  it('fails synth on an unacknowledged finding, naming it', () => {
    const violations = nagViolations((app) => {
      const stack = new CloudjailStack(app, 'Nagged', { config: exampleConfig() });
      new sqs.Queue(stack, 'UnacknowledgedQueue');
    });
    // The stray queue: no DLQ (SQS3), no TLS-only policy (SQS4). Nothing from Cloudjail itself.
    expect(findings(violations)).toEqual([
      'AwsSolutions-SQS3 @ Nagged/UnacknowledgedQueue/Resource',
      'AwsSolutions-SQS4 @ Nagged/UnacknowledgedQueue/Resource',
    ]);
  }, 120_000);

  it('passes with the acknowledgements, each with a reason', () => {
    let acks: ReturnType<typeof nagAcknowledgements> = [];
    const violations = nagViolations((app) => {
      const stack = new CloudjailStack(app, 'Acked', { config: exampleConfig() });
      acks = nagAcknowledgements(stack.cloudjail);
    });
    expect(violations).toEqual([]);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(ack.reason.length, ack.id).toBeGreaterThan(40);
    }
  }, 120_000);

  it('needs every acknowledgement: without them, exactly those findings fail synth', () => {
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => {});
    let expected: string[] = [];
    const violations = nagViolations((app) => {
      const stack = new CloudjailStack(app, 'Bare', { config: exampleConfig() });
      expected = nagAcknowledgements(stack.cloudjail).map((a) => `${a.id} @ ${a.scope.node.path}`);
    });
    expect(spy).toHaveBeenCalled();
    // Each finding is raised on the acknowledged construct or one of its children.
    const raised = findings(violations);
    expect(raised.length).toBe(expected.length);
    for (const finding of raised) {
      const [rule, path] = finding.split(' @ ') as [string, string];
      expect(
        expected.some((e) => {
          const [id, scope] = e.split(' @ ') as [string, string];
          return id === rule && (path === scope || path.startsWith(`${scope}/`));
        }),
        finding,
      ).toBe(true);
    }
  }, 120_000);
});
