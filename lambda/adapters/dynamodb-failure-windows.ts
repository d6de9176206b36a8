/**
 * FailureWindowReader on the cloudjail table: queries the `FAIL#<jail>` partition the DynamoDB ban
 * store writes (string set of "time|eventId" per address, see dynamodb-ban-store.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { FailingAddress, FailureWindowReader } from '../ports/failure-windows.js';
import { ITEM, TABLE_KEYS } from './dynamodb-table.js';

export class DynamoDbFailureWindows implements FailureWindowReader {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async failingAddresses(jail: string, since: number): Promise<readonly FailingAddress[]> {
    const out: FailingAddress[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':pk': `${ITEM.failurePrefix}${jail}` },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const address = item[TABLE_KEYS.sortKey];
        const set = item.ev as Set<string> | undefined;
        if (typeof address !== 'string' || !set) continue;
        let failures = 0;
        let last = Number.NEGATIVE_INFINITY;
        for (const member of set) {
          const time = Number(member.slice(0, member.indexOf('|')));
          if (!Number.isFinite(time) || time < since) continue;
          failures++;
          if (time > last) last = time;
        }
        if (failures > 0) out.push({ address, failures, lastFailureAt: last });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
