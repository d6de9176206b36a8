/**
 * The ban store on DynamoDB (docs/dynamodb.md). Every write that decides something is conditional,
 * so concurrent detector invocations cannot create two bans, and failure counting is idempotent
 * because failures are stored in a string set keyed by their event id.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Ban, isBanActive } from '../core/ban.js';
import type { FailureEvent } from '../core/policy/failure-window.js';
import { isEmptyOverride, type JailOverride, OVERRIDABLE } from '../core/policy/jail-overrides.js';
import type {
  BanKey,
  BanStore,
  IgnoreEntry,
  JailStats,
  PutBanResult,
  RecordedFailures,
} from '../ports/ban-store.js';
import { BAN_HISTORY_MS, ITEM, TABLE_KEYS } from './dynamodb-table.js';

const { partitionKey: PK, sortKey: SK, ttl: TTL } = TABLE_KEYS;

const seconds = (ms: number) => Math.ceil(ms / 1000);

/** "time|id" string-set members ↔ failure events. The time comes first so ids may hold '|'. */
function encodeFailure(f: FailureEvent): string {
  return `${f.time}|${f.id}`;
}

function decodeFailure(s: string): FailureEvent | undefined {
  const bar = s.indexOf('|');
  const time = Number(s.slice(0, bar));
  return bar > 0 && Number.isFinite(time) ? { time, id: s.slice(bar + 1) } : undefined;
}

/** Set members → one failure per id (the earliest time if an id was stored with two times). */
function decodeFailures(members: Iterable<string>): Map<string, number> {
  const byId = new Map<string, number>();
  for (const m of members) {
    const f = decodeFailure(m);
    if (!f) continue;
    const known = byId.get(f.id);
    if (known === undefined || f.time < known) byId.set(f.id, f.time);
  }
  return byId;
}

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX = 100;
/** Rounds of UnprocessedKeys retries before giving up (the invocation then fails and is retried). */
const BATCH_GET_ROUNDS = 8;

/** The DynamoDB item of a ban. Exported for the stream-based notifier. */
export function banToItem(ban: Ban): Record<string, unknown> {
  const item: Record<string, unknown> = {
    [PK]: ITEM.ban,
    [SK]: `${ban.cidr}#${ban.jail}`,
    jail: ban.jail,
    cidr: ban.cidr,
    createdAt: ban.createdAt,
    source: ban.source,
    failures: ban.failures,
    banCount: ban.banCount,
  };
  if (ban.expiresAt !== null) {
    item.expiresAt = ban.expiresAt;
    item[TTL] = seconds(ban.expiresAt + BAN_HISTORY_MS);
  }
  if (ban.reason !== undefined) item.reason = ban.reason;
  if (ban.matches?.length) item.matches = [...ban.matches];
  if (ban.logGroup !== undefined) item.logGroup = ban.logGroup;
  if (ban.logStream !== undefined) item.logStream = ban.logStream;
  if (ban.lastFailureAt !== undefined) item.lastFailureAt = ban.lastFailureAt;
  if (ban.consumedFailureIds?.length) item.consumed = [...ban.consumedFailureIds];
  if (ban.expired) item.expired = true;
  return item;
}

/** A ban from its (unmarshalled) item; undefined when the item is not a valid ban. */
export function banFromItem(item: Record<string, unknown>): Ban | undefined {
  if (item[PK] !== ITEM.ban || typeof item.cidr !== 'string' || typeof item.jail !== 'string') {
    return undefined;
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    jail: item.jail,
    cidr: item.cidr,
    createdAt: num(item.createdAt) ?? 0,
    expiresAt: num(item.expiresAt) ?? null,
    source: item.source === 'manual' ? 'manual' : 'detector',
    failures: num(item.failures) ?? 0,
    banCount: num(item.banCount) ?? 1,
    ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
    ...(Array.isArray(item.matches) ? { matches: item.matches.map(String) } : {}),
    ...(typeof item.logGroup === 'string' ? { logGroup: item.logGroup } : {}),
    ...(typeof item.logStream === 'string' ? { logStream: item.logStream } : {}),
    ...(num(item.lastFailureAt) !== undefined ? { lastFailureAt: num(item.lastFailureAt) } : {}),
    ...(Array.isArray(item.consumed) ? { consumedFailureIds: item.consumed.map(String) } : {}),
    ...(item.expired === true ? { expired: true } : {}),
  };
}

function toEvents(byId: ReadonlyMap<string, number>): FailureEvent[] {
  return [...byId].map(([id, time]) => ({ id, time }));
}

export class DynamoDbBanStore implements BanStore {
  private readonly doc: DynamoDBDocumentClient;

  private readonly sleep: (ms: number) => Promise<void>;

  /**
   * @param options.sleep waits between BatchGetItem rounds that left keys unprocessed (throttling);
   *   default a real timer. Tests inject one that does not wait.
   */
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    options: { readonly sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async recordFailures(
    jail: string,
    address: string,
    failures: readonly FailureEvent[],
    expireAt: number,
  ): Promise<RecordedFailures> {
    const Key = { [PK]: `${ITEM.failurePrefix}${jail}`, [SK]: address };
    if (failures.length === 0) {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }),
      );
      const set = out.Item?.ev as Set<string> | undefined;
      return { failures: toEvents(decodeFailures(set ?? [])), added: 0 };
    }
    // ADD to a string set is idempotent: a redelivered event id is already a member. The update is
    // atomic, so concurrent writers never lose each other's members; ALL_OLD tells which are new.
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key,
        UpdateExpression: 'ADD #ev :ev SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ev': 'ev', '#ttl': TTL },
        ExpressionAttributeValues: {
          ':ev': new Set(failures.map(encodeFailure)),
          ':ttl': seconds(expireAt),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = decodeFailures((out.Attributes?.ev as Set<string> | undefined) ?? []);
    const all = new Map(old);
    let added = 0;
    for (const f of failures) {
      const known = all.get(f.id);
      if (known === undefined) added++;
      if (known === undefined || f.time < known) all.set(f.id, f.time);
    }
    return { failures: toEvents(all), added };
  }

  async forgetFailures(jail: string, address: string, failures: readonly FailureEvent[]) {
    if (failures.length === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: `${ITEM.failurePrefix}${jail}`, [SK]: address },
        UpdateExpression: 'DELETE #ev :ev',
        ExpressionAttributeNames: { '#ev': 'ev' },
        ExpressionAttributeValues: { ':ev': new Set(failures.map(encodeFailure)) },
      }),
    );
  }

  private async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async bansOf(cidr: string): Promise<readonly Ban[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
      ExpressionAttributeValues: { ':pk': ITEM.ban, ':prefix': `${cidr}#` },
      ConsistentRead: true,
    });
    return items.flatMap((i) => banFromItem(i) ?? []);
  }

  async getBans(keys: readonly BanKey[]): Promise<readonly Ban[]> {
    const unique = [...new Set(keys.map((k) => `${k.cidr}#${k.jail}`))];
    const bans: Ban[] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] | undefined = unique
        .slice(i, i + BATCH_GET_MAX)
        .map((sk) => ({ [PK]: ITEM.ban, [SK]: sk }));
      for (let round = 0; pending && pending.length > 0; round++) {
        if (round >= BATCH_GET_ROUNDS) {
          throw new Error(
            `DynamoDB left ${pending.length} ban key(s) unprocessed after ${round} BatchGetItem rounds`,
          );
        }
        // Unprocessed keys mean throttling: back off (25 ms, 50 ms, ... up to 1.6 s) before a retry.
        if (round > 0) await this.sleep(Math.min(25 * 2 ** (round - 1), 1600));
        const out: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const ban = banFromItem(item);
          if (ban) bans.push(ban);
        }
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys as
          | Record<string, unknown>[]
          | undefined;
      }
    }
    return bans;
  }

  async putBan(ban: Ban, now: number, previous: Ban | undefined): Promise<PutBanResult> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: banToItem(ban),
          // Created only if there is no record, or the record the caller read is still there
          // (same banCount) and has expired. Of N concurrent writers exactly one succeeds.
          ConditionExpression: previous
            ? 'banCount = :prev AND attribute_exists(expiresAt) AND expiresAt <= :now'
            : 'attribute_not_exists(#pk)',
          ...(previous
            ? { ExpressionAttributeValues: { ':prev': previous.banCount, ':now': now } }
            : { ExpressionAttributeNames: { '#pk': PK } }),
        }),
      );
      return 'created';
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const current = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: ITEM.ban, [SK]: `${ban.cidr}#${ban.jail}` },
          ConsistentRead: true,
        }),
      );
      const existing = current.Item ? banFromItem(current.Item) : undefined;
      return existing && isBanActive(existing, now) ? 'already-banned' : 'conflict';
    }
  }

  async listBans(): Promise<readonly Ban[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: { ':pk': ITEM.ban },
      ConsistentRead: true,
    });
    return items.flatMap((i) => banFromItem(i) ?? []);
  }

  async markExpired(bans: readonly Ban[], now: number): Promise<void> {
    for (const b of bans) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [PK]: ITEM.ban, [SK]: `${b.cidr}#${b.jail}` },
            UpdateExpression: 'SET expired = :t, #status = :status, #ttl = :ttl',
            // Only if still expired: a re-ban in the meantime must not be marked.
            ConditionExpression: 'attribute_exists(expiresAt) AND expiresAt <= :now',
            ExpressionAttributeNames: { '#ttl': TTL, '#status': 'status' },
            ExpressionAttributeValues: {
              ':t': true,
              ':status': 'expired',
              ':now': now,
              ':ttl': seconds(now + BAN_HISTORY_MS),
            },
          }),
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      }
    }
  }

  async releaseBans(
    filter: { cidr?: string; jail?: string; all?: boolean },
    now: number,
  ): Promise<readonly Ban[]> {
    if (!filter.all && filter.cidr === undefined && filter.jail === undefined) return [];
    const candidates = (
      filter.cidr ? await this.bansOf(filter.cidr) : await this.listBans()
    ).filter(
      (b) =>
        isBanActive(b, now) &&
        (filter.cidr === undefined || b.cidr === filter.cidr) &&
        (filter.jail === undefined || b.jail === filter.jail),
    );
    const released: Ban[] = [];
    for (const b of candidates) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [PK]: ITEM.ban, [SK]: `${b.cidr}#${b.jail}` },
            UpdateExpression:
              'SET expiresAt = :now, releasedAt = :now, #status = :status, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
            ExpressionAttributeNames: { '#ttl': TTL, '#status': 'status' },
            ExpressionAttributeValues: {
              ':now': now,
              ':status': 'released',
              ':ttl': seconds(now + BAN_HISTORY_MS),
            },
          }),
        );
        released.push({ ...b, expiresAt: now });
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      }
    }
    return released;
  }

  async addIgnore(entry: IgnoreEntry): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [PK]: ITEM.ignore,
          [SK]: `${entry.cidr}#${entry.jail ?? '*'}`,
          cidr: entry.cidr,
          ...(entry.jail ? { jail: entry.jail } : {}),
        },
      }),
    );
  }

  async removeIgnore(entry: IgnoreEntry): Promise<boolean> {
    const out = await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [PK]: ITEM.ignore, [SK]: `${entry.cidr}#${entry.jail ?? '*'}` },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }

  async listIgnores(): Promise<readonly IgnoreEntry[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: { ':pk': ITEM.ignore },
      // The enforcer screens bans against it: an entry just added must count.
      ConsistentRead: true,
    });
    return items.flatMap((i) =>
      typeof i.cidr === 'string'
        ? [{ cidr: i.cidr, ...(typeof i.jail === 'string' ? { jail: i.jail } : {}) }]
        : [],
    );
  }

  async putJailOverride(override: JailOverride): Promise<void> {
    const Key = { [PK]: ITEM.override, [SK]: override.jail };
    if (isEmptyOverride(override)) {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key }));
      return;
    }
    const settings: Record<string, number> = {};
    for (const k of OVERRIDABLE) {
      const v = override[k];
      if (v !== undefined) settings[k] = v;
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...Key, jail: override.jail, ...settings },
      }),
    );
  }

  async listJailOverrides(): Promise<readonly JailOverride[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: { ':pk': ITEM.override },
    });
    return items.flatMap((i) => {
      if (typeof i.jail !== 'string') return [];
      const o: Record<string, unknown> = { jail: i.jail };
      for (const k of OVERRIDABLE) if (typeof i[k] === 'number') o[k] = i[k];
      return [o as unknown as JailOverride];
    });
  }

  async addStats(jail: string, failed: number, banned: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: ITEM.stats, [SK]: jail },
        UpdateExpression: 'ADD totalFailed :f, totalBanned :b',
        ExpressionAttributeValues: { ':f': failed, ':b': banned },
      }),
    );
  }

  async listStats(): Promise<readonly JailStats[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: { ':pk': ITEM.stats },
    });
    return items.map((i) => ({
      jail: String(i[SK]),
      totalFailed: Number(i.totalFailed ?? 0),
      totalBanned: Number(i.totalBanned ?? 0),
    }));
  }
}
