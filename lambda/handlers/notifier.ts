/**
 * Notifier: turns ban records on the table's DynamoDB stream into SNS messages, one per ban and one
 * per unban (the seeds' mail action). The stack filters the stream to ban items at the event
 * source, so this function only sees ban records.
 *
 * - a new ban record, or a lifted record becoming active again, or a record re-created for a new
 *   ban of the same address → "ban";
 * - an active record marked expired/released, or deleted (CLI unban, or TTL for a record that was
 *   never marked) → "unban".
 * Other changes (enforcement bookkeeping) send nothing. Delivery is at-least-once: a retried batch
 * may repeat a message, which is better than losing one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  StreamRecord,
} from 'aws-lambda';
import { RdapOrigin } from '../adapters/rdap-origin.js';
import { ENV } from '../config/env-names.js';
import type { Ban } from '../core/ban.js';
import { parseCidr } from '../core/ip-address.js';
import { type AddressOrigin, originLines } from '../core/rdap.js';
import { banItemCodec } from './notifier-codec.js';

/** How ban records are read from table items (the ban store's own mapping). */
export interface BanItemCodec {
  /** The ban held by an item, or undefined when the item is not a ban record. */
  toBan(item: Record<string, unknown>): Ban | undefined;
  /** True when the record says the ban was lifted (released by an operator or marked expired). */
  isLifted(item: Record<string, unknown>): boolean;
}

export type BanChangeKind = 'ban' | 'unban';

export interface BanChange {
  readonly kind: BanChangeKind;
  readonly ban: Ban;
  /** Why, in words: "new ban", "released", "expired", "record deleted", ... */
  readonly cause: string;
}

type Image = StreamRecord['NewImage'];

function decode(image: Image): Record<string, unknown> | undefined {
  // aws-lambda's AttributeValue and the SDK's have the same wire shape.
  return image ? unmarshall(image as Parameters<typeof unmarshall>[0]) : undefined;
}

/** True for deletions DynamoDB TTL made (stream `userIdentity` of the service principal). */
function isTtlDelete(record: DynamoDBRecord): boolean {
  return (
    record.userIdentity?.type === 'Service' &&
    record.userIdentity?.principalId === 'dynamodb.amazonaws.com'
  );
}

/** The ban/unban a stream record means, if any. Pure: exported for tests. */
export function banChangeOf(record: DynamoDBRecord, codec: BanItemCodec): BanChange | undefined {
  const oldItem = decode(record.dynamodb?.OldImage);
  const newItem = decode(record.dynamodb?.NewImage);
  const oldBan = oldItem ? codec.toBan(oldItem) : undefined;
  const newBan = newItem ? codec.toBan(newItem) : undefined;
  const oldLive = oldBan !== undefined && oldItem !== undefined && !codec.isLifted(oldItem);
  const newLive = newBan !== undefined && newItem !== undefined && !codec.isLifted(newItem);

  switch (record.eventName) {
    case 'INSERT':
      return newLive ? { kind: 'ban', ban: newBan!, cause: 'new ban' } : undefined;
    case 'MODIFY':
      if (newLive && !oldLive) return { kind: 'ban', ban: newBan!, cause: 'new ban' };
      if (oldLive && !newLive && newBan) {
        return { kind: 'unban', ban: newBan, cause: liftCause(newItem!) };
      }
      if (oldLive && newLive && oldBan!.createdAt !== newBan!.createdAt) {
        // Same address banned again after its previous ban ended (record reused).
        return { kind: 'ban', ban: newBan!, cause: 'new ban' };
      }
      return undefined;
    case 'REMOVE':
      if (!oldLive) return undefined;
      return {
        kind: 'unban',
        ban: oldBan!,
        cause: isTtlDelete(record) ? 'expired (record removed by TTL)' : 'record deleted',
      };
    default:
      return undefined;
  }
}

function liftCause(item: Record<string, unknown>): string {
  for (const key of ['status', 'state', 'releaseReason']) {
    const value = item[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'lifted';
}

function isoOrPermanent(ms: number | null): string {
  return ms === null ? 'permanent' : new Date(ms).toISOString();
}

/** The SNS message for a change: a short subject and a readable body. Pure: exported for tests. */
export function formatMessage(
  change: BanChange,
  origin?: AddressOrigin,
): {
  subject: string;
  message: string;
  attributes: Record<string, string>;
} {
  const { ban } = change;
  const verb = change.kind === 'ban' ? 'banned' : 'unbanned';
  // SNS subjects: ASCII, no newlines, at most 100 characters.
  const subject = `cloudjail: ${verb} ${ban.cidr} (${ban.jail})`
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100);
  const lines = [
    `${ban.cidr} ${verb} in jail "${ban.jail}": ${change.cause}.`,
    '',
    `source:     ${ban.source}`,
    `banned at:  ${new Date(ban.createdAt).toISOString()}`,
    `expires:    ${isoOrPermanent(ban.expiresAt)}`,
    `failures:   ${ban.failures}`,
    `ban count:  ${ban.banCount}`,
  ];
  if (ban.reason) lines.push(`reason:     ${ban.reason}`);
  // Who the address belongs to (RDAP, as fail2ban's mta-whois actions add whois output).
  if (origin) lines.push(...originLines(origin));
  if (ban.logGroup)
    lines.push(`log:        ${ban.logGroup}${ban.logStream ? ` / ${ban.logStream}` : ''}`);
  if (change.kind === 'ban' && ban.matches && ban.matches.length > 0) {
    lines.push('', 'matched lines:', ...ban.matches.map((m) => `  ${m}`));
  }
  return {
    subject,
    message: lines.join('\n'),
    attributes: { event: change.kind, jail: ban.jail, cidr: ban.cidr },
  };
}

export interface NotifierDeps {
  readonly codec: BanItemCodec;
  publish(message: ReturnType<typeof formatMessage>): Promise<void>;
  /** Who an address belongs to (RDAP); optional, and never fails or holds back a message. */
  readonly origin?: { lookup(address: string): Promise<AddressOrigin | undefined> };
  readonly logger?: Pick<Logger, 'info' | 'error'>;
}

/** The origin of a banned range's network address; undefined on any failure (bounded by the lookup). */
async function originOf(deps: NotifierDeps, change: BanChange): Promise<AddressOrigin | undefined> {
  if (change.kind !== 'ban' || !deps.origin) return undefined;
  const network = parseCidr(change.ban.cidr)?.network;
  if (network === undefined) return undefined;
  try {
    return await deps.origin.lookup(network);
  } catch {
    return undefined;
  }
}

/** Builds the stream handler; failed records are reported so only they are retried. */
export function makeNotifierHandler(
  deps: NotifierDeps,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  return async (event) => {
    const batchItemFailures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        const change = banChangeOf(record, deps.codec);
        if (!change) continue;
        await deps.publish(formatMessage(change, await originOf(deps, change)));
        deps.logger?.info('notified', {
          event: change.kind,
          jail: change.ban.jail,
          cidr: change.ban.cidr,
        });
      } catch (error) {
        deps.logger?.error('notification failed', { error, eventID: record.eventID });
        const id = record.dynamodb?.SequenceNumber;
        if (id) batchItemFailures.push({ itemIdentifier: id });
        // Records after a failure are retried too (stream order): stop here.
        break;
      }
    }
    return { batchItemFailures };
  };
}

// --- Composition root (once per container) ----------------------------------------------------
const topicArn = process.env[ENV.topicArn];
const sns = new SNSClient({});
const logger = new Logger({ serviceName: 'notifier' });

export const handler = makeNotifierHandler({
  codec: banItemCodec,
  logger,
  // RDAP over HTTPS from IANA's bootstrap; 2.5 s at most per ban, answers cached per container.
  origin: new RdapOrigin(),
  async publish({ subject, message, attributes }) {
    if (!topicArn) throw new Error(`${ENV.topicArn} is not set`);
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject,
        Message: message,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  },
});
