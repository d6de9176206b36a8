/**
 * Everything the CDK side must agree on with the Lambda code, gathered in one place and taken from
 * the runtime modules themselves (never re-typed), so infrastructure and handlers cannot drift:
 * table key names, TTL attribute and indexes (lambda/adapters/dynamodb-table.ts), the metric
 * namespace and names the handlers emit, and the few config fields the stack reads.
 */
import { ITEM, TABLE_KEYS } from '../lambda/adapters/dynamodb-table.js';
import type { CloudjailConfig } from '../lambda/config/cloudjail-config.js';
import type { JailConfig } from '../lambda/config/jail-config.js';

/** Key schema of the single cloudjail table, as the DynamoDB adapters use it. */
export interface TableSchema {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly ttlAttribute: string;
  /** Partition key of every ban item, exactly (the notifier's stream filter). */
  readonly banPartitionKey: string;
  readonly globalSecondaryIndexes: readonly {
    readonly indexName: string;
    readonly partitionKey: string;
    readonly sortKey?: string;
    readonly sortKeyType?: 'S' | 'N';
  }[];
}

export const TABLE_SCHEMA: TableSchema = {
  partitionKey: TABLE_KEYS.partitionKey,
  sortKey: TABLE_KEYS.sortKey,
  ttlAttribute: TABLE_KEYS.ttl,
  // Ban items have exactly pk = BAN (sk = <cidr>#<jail>); other item types use other keys.
  banPartitionKey: ITEM.ban,
  globalSecondaryIndexes: [],
};

/**
 * The DynamoDB actions the table adapters (lambda/adapters/dynamodb-*.ts) call, as IAM actions:
 * what the detector and the enforcer are granted on the table, nothing more (no Scan, no batch
 * writes, no table management). test/infra/sdk-permissions.test.ts scans the adapters' SDK commands
 * and fails when one is missing here.
 */
export const TABLE_DATA_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/**
 * The table actions the ENFORCER's adapters call (DynamoDbBanStore.listBans/listIgnores/markExpired,
 * DynamoDbEnforcerState): its grant. test/infra/sdk-permissions.test.ts records the commands of a
 * real enforcer run on dynalite and fails when one is missing here.
 */
export const ENFORCER_TABLE_ACTIONS = ['dynamodb:Query', 'dynamodb:UpdateItem'] as const;

/**
 * The partition keys the enforcer touches: it reads ban records, the runtime allowlist and its own
 * items (Query), and writes only ban records (sweep marks) and its own lease and learned-quota
 * items (UpdateItem): it can never change the allowlist.
 */
export const ENFORCER_LEADING_KEYS = {
  read: [ITEM.ban, ITEM.ignore, ITEM.enforcer],
  write: [ITEM.ban, ITEM.enforcer],
} as const;

/**
 * The detector's share of the table (lambda/use-cases/ingest-log-events.ts through the DynamoDB
 * store): it reads failure windows, ban records, the runtime allowlist and the runtime jail
 * overrides, and writes failure
 * windows, ban records and counters; never deletes an item, never writes the allowlist. Granted
 * with `dynamodb:LeadingKeys` conditions on exactly these partition keys (test/infra/
 * detector-leading-keys.test.ts), so a compromised detector cannot allowlist an address.
 */
export const DETECTOR_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
] as const;
export const DETECTOR_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/** The partition keys the detector reads and writes: exact values (jail names hold no wildcard). */
export function detectorLeadingKeys(config: CloudjailConfig): { read: string[]; write: string[] } {
  const windows = config.jails.map((jail) => `${ITEM.failurePrefix}${jail.name}`);
  return {
    // The runtime allowlist and the runtime jail overrides (`cloudjail set`): read-only.
    read: [...windows, ITEM.ban, ITEM.ignore, ITEM.override],
    write: [...windows, ITEM.ban, ITEM.stats],
  };
}

/** CloudWatch metrics (Powertools EMF) the handlers emit; alarms and the dashboard use them. */
export const METRICS = {
  namespace: 'cloudjail',
  detectorService: 'detector',
  enforcerService: 'enforcer',
  notifierService: 'notifier',
  /** Per tier: dimension {@link METRICS.tierDimension} = `nacl` or `hosts`. */
  bansNotEnforced: 'BansNotEnforced',
  tierDimension: 'Tier',
  naclTier: 'nacl',
  hostsTier: 'hosts',
  activeBans: 'ActiveBans',
  bansCreated: 'BansCreated',
  ec2Throttles: 'Throttles',
  naclMutations: 'NaclMutations',
  driftRepairs: 'DriftRepairs',
  agentsCurrent: 'AgentsCurrent',
  agentsBehind: 'AgentsBehind',
  agentsSilent: 'AgentsSilent',
  /** Active bans the enforcer refused (allowlisted, or broader than enforcement.minBanPrefix). */
  bansRefused: 'BansRefused',
} as const;

export function jailName(jail: JailConfig): string {
  return jail.name;
}

export function jailFilterSpec(jail: JailConfig): string {
  return jail.filter;
}

/** Every configured NACL id, deduplicated. */
export function naclIds(config: CloudjailConfig): string[] {
  return [...new Set(config.targets.map((target) => target.naclId))];
}

/** The enforcer's schedule expression, e.g. `rate(1 minute)`. */
export function enforcementSchedule(config: CloudjailConfig): string {
  return config.enforcement.schedule ?? 'rate(1 minute)';
}
