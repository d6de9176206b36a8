/**
 * EnforcerStatePort on the cloudjail table (docs/dynamodb.md, "Enforcer lease and learned quotas"):
 *
 * - `pk = ENFORCER, sk = LEASE`: `leaseUntil` (epoch ms) and `token` (fencing token, +1 per
 *   acquisition). Acquire = one conditional UpdateItem (free or expired); renew and release are
 *   conditional on the token, so a run whose lease was taken over can neither extend nor free it.
 * - `pk = ENFORCER, sk = QUOTA#<naclId>#<4|6>`: a rule quota EC2 enforced below the configured one
 *   (`quota`, `learnedAt`, TTL a day later).
 *
 * UpdateItem and Query only: the enforcer's table grants (lib/runtime-contract.ts).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EnforcerStatePort, LearnedQuota, LeaseGrant } from '../ports/enforcer-state.js';
import { ITEM, TABLE_KEYS } from './dynamodb-table.js';

const { partitionKey: PK, sortKey: SK, ttl: TTL } = TABLE_KEYS;
const LEASE_KEY = { [PK]: ITEM.enforcer, [SK]: 'LEASE' };
const QUOTA_PREFIX = 'QUOTA#';
const QUOTA_TTL_MS = 86_400_000;

export class DynamoDbEnforcerState implements EnforcerStatePort {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async acquire(now: number, durationMs: number): Promise<LeaseGrant | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET leaseUntil = :until ADD #token :one',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':until': now + durationMs, ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { token: Number(out.Attributes?.token), until: now + durationMs };
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  async renew(grant: LeaseGrant, now: number, durationMs: number): Promise<LeaseGrant | undefined> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET leaseUntil = :until',
          ConditionExpression: '#token = :token AND leaseUntil > :now',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: {
            ':until': now + durationMs,
            ':token': grant.token,
            ':now': now,
          },
        }),
      );
      return { token: grant.token, until: now + durationMs };
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  async release(grant: LeaseGrant): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':zero': 0, ':token': grant.token },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async learnedQuotas(): Promise<readonly LearnedQuota[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': ITEM.enforcer, ':prefix': QUOTA_PREFIX },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).flatMap((i) => {
      const family = Number(i.family);
      const quota = Number(i.quota);
      const learnedAt = Number(i.learnedAt);
      return typeof i.naclId === 'string' &&
        (family === 4 || family === 6) &&
        Number.isInteger(quota) &&
        Number.isFinite(learnedAt)
        ? [{ naclId: i.naclId, family, quota, learnedAt }]
        : [];
    });
  }

  async recordQuota(q: LearnedQuota): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: ITEM.enforcer, [SK]: `${QUOTA_PREFIX}${q.naclId}#${q.family}` },
        UpdateExpression:
          'SET #naclId = :id, #family = :f, #quota = :q, #learnedAt = :at, #ttl = :ttl',
        ExpressionAttributeNames: {
          '#naclId': 'naclId',
          '#family': 'family',
          '#quota': 'quota',
          '#learnedAt': 'learnedAt',
          '#ttl': TTL,
        },
        ExpressionAttributeValues: {
          ':id': q.naclId,
          ':f': q.family,
          ':q': q.quota,
          ':at': q.learnedAt,
          ':ttl': Math.ceil((q.learnedAt + QUOTA_TTL_MS) / 1000),
        },
      }),
    );
  }
}
