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
import { METRICS, TABLE_DATA_ACTIONS } from '../../lib/runtime-contract.js';
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
      new CloudjailStack(testApp(false), 'Access', { config: exampleConfig() }),
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

  it('grants every other AWS API the Lambda code calls (EC2, Lambda, SNS) to some function', () => {
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
    const prefixes: Record<string, string> = { ec2: 'ec2', lambda: 'lambda', sns: 'sns' };
    let found = 0;
    for (const file of sourceFiles(join(PROJECT_ROOT, 'lambda'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-(ec2|lambda|sns)'/g,
      )) {
        for (const name of m[1]!.split(',').map((n) => n.trim())) {
          const command = /^(\w+)Command$/.exec(name)?.[1];
          if (!command) continue;
          found++;
          const action = `${prefixes[m[2]!]}:${command === 'Invoke' ? 'InvokeFunction' : command}`;
          expect(granted, `${name} in ${relative(PROJECT_ROOT, file)}`).toContain(action);
        }
      }
    }
    expect(found, 'EC2 entry commands, Invoke, Publish').toBeGreaterThanOrEqual(6);
  });

  it('grants exactly TABLE_DATA_ACTIONS on the table, nothing else in DynamoDB', () => {
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    // The detector's narrower grant (LeadingKeys): test/infra/detector-leading-keys.test.ts.
    for (const service of [METRICS.enforcerService]) {
      const [, fn] = functionByService(template, service);
      const dynamo = policyStatements(template, roleOf(fn)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo, service).toHaveLength(1);
      expect(actionsOf(dynamo[0]!).sort()).toEqual([...TABLE_DATA_ACTIONS].sort());
      expect(dynamo[0]!['Resource']).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    }
  });
});
