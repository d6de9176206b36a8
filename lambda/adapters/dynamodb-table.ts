/**
 * The cloudjail DynamoDB table: one table, generic keys, item types by partition-key prefix.
 * Shared by the store adapter, the CDK construct and the embedded mode so all agree on names.
 * The design and why it is race-free: docs/dynamodb.md.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** TTL attribute, epoch SECONDS. */
  ttl: 'ttl',
} as const;

/** Partition keys / prefixes of the item types. */
export const ITEM = {
  /** pk = FAIL#<jail>, sk = <address>: failure window (string set "time|eventId"). */
  failurePrefix: 'FAIL#',
  /** pk = BAN, sk = <cidr>#<jail>: ban record (desired state + history). */
  ban: 'BAN',
  /** pk = IGNORE, sk = <cidr>#<jail or *>: runtime allowlist. */
  ignore: 'IGNORE',
  /** pk = STATS, sk = <jail>: counters. */
  stats: 'STATS',
  /** pk = ENFORCER, sk = LEASE | QUOTA#<naclId>#<4|6>: the enforcer's lease and learned quotas. */
  enforcer: 'ENFORCER',
  /** pk = OVERRIDE, sk = <jail>: runtime settings (`cloudjail set`). */
  override: 'OVERRIDE',
} as const;

/** How long an ended ban stays readable as history (escalation needs it). */
export const BAN_HISTORY_MS = 30 * 86_400_000;

/** CreateTable input for the embedded mode and tests (the CDK construct builds the same keys). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
  };
}
