/**
 * Issue 12.2 (detector part): the detector's IAM allows only the table items it uses. Its table
 * statements carry `dynamodb:LeadingKeys` conditions on exact partition keys — failure windows of
 * the configured jails, ban records, counters; the runtime allowlist read-only; no DeleteItem —
 * and the detector handler, run on dynalite through the real store, never sends a request outside
 * them (every partition key it sends is recorded by an SDK middleware).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { BUILTIN_FILTER_DIR } from '../../lambda/adapters/filter-files.js';
import { createDetectorHandler, jailsFromConfig } from '../../lambda/handlers/detector.js';
import { RecordingEnforcementTrigger } from '../../lambda/ports/enforcement-trigger.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { METRICS } from '../../lib/runtime-contract.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { HOUR, MINUTE, RecordingLogger, SECOND, T0 } from '../helpers/detection.js';
import { eventId, freeswitchFailure, subscriptionEvent } from '../helpers/subscription-payload.js';
import {
  actionsOf,
  cleanupApps,
  exampleConfig,
  functionByService,
  policyStatements,
  roleOf,
  type Statement,
  testApp,
} from './helpers.js';

/** IAM action → partition keys the detector's statements allow it on. */
function grantedKeys(statements: readonly Statement[]): Map<string, Set<string>> {
  const granted = new Map<string, Set<string>>();
  for (const s of statements) {
    const condition = s['Condition'] as
      | { 'ForAllValues:StringEquals'?: { 'dynamodb:LeadingKeys'?: string[] } }
      | undefined;
    const keys = condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'];
    expect(keys, `statement ${String(s['Sid'])} has a LeadingKeys condition`).toBeDefined();
    for (const action of actionsOf(s)) {
      const set = granted.get(action) ?? new Set<string>();
      for (const k of keys ?? []) set.add(k);
      granted.set(action, set);
    }
  }
  return granted;
}

/** A key attribute's string, marshalled (`{S}`) or not (lib-dynamodb's input before marshalling). */
const str = (v: unknown): string =>
  typeof v === 'string' ? v : ((v as { S?: string } | undefined)?.S ?? '?');

/** Partition keys of a request input (Key, Item, RequestItems keys, Query's :pk). */
function partitionKeysOf(command: string, input: Record<string, unknown>): string[] {
  const pk = (item: unknown) => str((item as { pk?: unknown } | undefined)?.pk);
  if (command === 'BatchGetItemCommand') {
    const requests = input['RequestItems'] as Record<string, { Keys: unknown[] }>;
    return Object.values(requests).flatMap((r) => r.Keys.map(pk));
  }
  if (command === 'QueryCommand') {
    return [str((input['ExpressionAttributeValues'] as Record<string, unknown>)[':pk'])];
  }
  return [pk(input['Key'] ?? input['Item'])];
}

describe('detector table access: dynamodb:LeadingKeys', () => {
  let template: Template;
  let db: EmbeddedDynamoDb;

  beforeAll(async () => {
    template = Template.fromStack(
      new CloudjailStack(testApp(false), 'LeadingKeys', { config: exampleConfig() }),
    );
    db = await startEmbeddedDynamoDb('leading-keys');
  }, 120_000);
  afterAll(async () => {
    cleanupApps();
    await db?.stop();
  });

  const detectorTableStatements = () => {
    const [, detector] = functionByService(template, METRICS.detectorService);
    return policyStatements(template, roleOf(detector)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
  };

  it('grants reads and writes only on exact partition keys, the allowlist read-only, no DeleteItem', () => {
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'))[0]!;
    const statements = detectorTableStatements();
    for (const s of statements) {
      expect(s['Resource']).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    }
    const granted = grantedKeys(statements);
    const read = ['FAIL#freeswitch', 'FAIL#asterisk', 'BAN', 'IGNORE', 'OVERRIDE'].sort();
    const write = ['FAIL#freeswitch', 'FAIL#asterisk', 'BAN', 'STATS'].sort();
    expect(Object.fromEntries([...granted].map(([a, keys]) => [a, [...keys].sort()]))).toEqual({
      'dynamodb:GetItem': read,
      'dynamodb:BatchGetItem': read,
      'dynamodb:Query': read,
      'dynamodb:PutItem': write,
      'dynamodb:UpdateItem': write,
    });
  });

  it('every request the detector sends (bans, windows, re-bans, redelivery) stays inside its grant', async () => {
    const granted = grantedKeys(detectorTableStatements());
    const client = db.client();
    const sent: { action: string; key: string }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName);
        const action = `dynamodb:${command.replace(/Command$/, '')}`;
        for (const key of partitionKeysOf(command, args.input as Record<string, unknown>)) {
          sent.push({ action, key });
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordLeadingKeys' },
    );
    const { jails, ignoreip } = jailsFromConfig(
      JSON.stringify(exampleConfig()),
      BUILTIN_FILTER_DIR,
    );
    const clock = { now: T0 };
    const metrics = new Metrics({ namespace: 'cloudjail', serviceName: 'detector' });
    metrics.publishStoredMetrics = function publish(this: Metrics) {
      this.clearMetrics();
      return this;
    };
    const handler = createDetectorHandler(() => ({
      store: new DynamoDbBanStore(client, db.tableName),
      trigger: new RecordingEnforcementTrigger(),
      jails,
      ignoreip,
      now: () => clock.now,
      logger: new RecordingLogger(),
      metrics,
      ignoreCacheMs: 0,
    }));
    const batch = (address: string, count: number, firstId: number, gap = SECOND) =>
      subscriptionEvent({
        logGroup: '/sbc/freeswitch',
        events: Array.from({ length: count }, (_, i) => {
          const t = clock.now - 5 * MINUTE + i * gap;
          return { id: eventId(firstId + i), timestamp: t, message: freeswitchFailure(t, address) };
        }),
      });
    await handler(batch('203.0.113.7', 5, 0)); // bans on its own
    await handler(batch('203.0.113.8', 3, 10)); // window only
    await handler(batch('203.0.113.8', 3, 20)); // window reaches maxretry: ban
    await handler(batch('203.0.113.7', 5, 0)); // redelivery
    clock.now = T0 + 2 * HOUR;
    await handler(batch('203.0.113.7', 5, 30)); // re-ban of an ended ban
    await handler(batch('203.0.113.9', 40, 100, 50)); // one flood, thinned and pruned
    expect(new Set(sent.map((s) => s.action))).toEqual(
      new Set([
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]),
    );
    expect(new Set(sent.map((s) => s.key))).toEqual(
      new Set(['IGNORE', 'OVERRIDE', 'BAN', 'FAIL#freeswitch', 'STATS']),
    );
    for (const { action, key } of sent) {
      expect(granted.get(action)?.has(key), `${action} on pk ${key}`).toBe(true);
    }
  });
});
