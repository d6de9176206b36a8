/**
 * The notifier's decision: which stream records are a ban, an unban, or nothing; and the message.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Ban } from '../../lambda/core/ban.js';
import {
  type BanItemCodec,
  banChangeOf,
  formatMessage,
  makeNotifierHandler,
} from '../../lambda/handlers/notifier.js';

/** A test codec: items are `{ kind: 'ban', ban, lifted? }`. */
const codec: BanItemCodec = {
  toBan: (item) => (item['kind'] === 'ban' ? (item['ban'] as Ban) : undefined),
  isLifted: (item) => item['lifted'] !== undefined,
};

const BAN: Ban = {
  jail: 'freeswitch',
  cidr: '203.0.113.7/32',
  createdAt: Date.UTC(2026, 0, 1, 12, 0, 0),
  expiresAt: Date.UTC(2026, 0, 1, 13, 0, 0),
  source: 'detector',
  failures: 5,
  banCount: 1,
  reason: '5 failures in 10m',
  matches: ["SIP auth failure (REGISTER) on sofia profile 'internal' from ip 203.0.113.7"],
};

function image(item: Record<string, unknown> | undefined) {
  return item
    ? (marshall(item, { removeUndefinedValues: true }) as NonNullable<
        DynamoDBRecord['dynamodb']
      >['NewImage'])
    : undefined;
}

function record(
  eventName: DynamoDBRecord['eventName'],
  oldItem: Record<string, unknown> | undefined,
  newItem: Record<string, unknown> | undefined,
  seq = '1',
  ttl = false,
): DynamoDBRecord {
  return {
    eventID: `e${seq}`,
    eventName,
    dynamodb: {
      SequenceNumber: seq,
      ...(oldItem ? { OldImage: image(oldItem) } : {}),
      ...(newItem ? { NewImage: image(newItem) } : {}),
    },
    ...(ttl ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  };
}

const live = { kind: 'ban', ban: BAN };
const lifted = { kind: 'ban', ban: BAN, lifted: true, status: 'released' };

describe('notifier: stream record → ban / unban', () => {
  it('a new ban record is a ban', () => {
    expect(banChangeOf(record('INSERT', undefined, live), codec)).toMatchObject({
      kind: 'ban',
      ban: { cidr: '203.0.113.7/32', jail: 'freeswitch' },
    });
  });

  it('marking an active record released or expired is an unban, with its cause', () => {
    expect(banChangeOf(record('MODIFY', live, lifted), codec)).toMatchObject({
      kind: 'unban',
      cause: 'released',
    });
  });

  it('a lifted record becoming active again, or a reused record, is a ban', () => {
    expect(banChangeOf(record('MODIFY', lifted, live), codec)?.kind).toBe('ban');
    const again = { kind: 'ban', ban: { ...BAN, createdAt: BAN.createdAt + 7_200_000 } };
    expect(banChangeOf(record('MODIFY', live, again), codec)?.kind).toBe('ban');
  });

  it('bookkeeping updates of an active ban send nothing', () => {
    const touched = { ...live, enforcedAt: 123 };
    expect(banChangeOf(record('MODIFY', live, touched), codec)).toBeUndefined();
  });

  it('deleting an active record is an unban; deleting a lifted one is not news', () => {
    expect(banChangeOf(record('REMOVE', live, undefined), codec)).toMatchObject({
      kind: 'unban',
      cause: 'record deleted',
    });
    expect(banChangeOf(record('REMOVE', live, undefined, '1', true), codec)?.cause).toMatch(/TTL/);
    expect(banChangeOf(record('REMOVE', lifted, undefined), codec)).toBeUndefined();
  });

  it('ignores items that are not bans', () => {
    const other = { kind: 'failure', ip: '203.0.113.7' };
    expect(banChangeOf(record('INSERT', undefined, other), codec)).toBeUndefined();
    expect(banChangeOf(record('REMOVE', other, undefined), codec)).toBeUndefined();
  });
});

describe('notifier: messages', () => {
  it('says who, what, when and why, with matched lines for a ban', () => {
    const msg = formatMessage({ kind: 'ban', ban: BAN, cause: 'new ban' });
    expect(msg.subject).toBe('cloudjail: banned 203.0.113.7/32 (freeswitch)');
    expect(msg.message).toContain('expires:    2026-01-01T13:00:00.000Z');
    expect(msg.message).toContain('reason:     5 failures in 10m');
    expect(msg.message).toContain('matched lines:');
    expect(msg.attributes).toEqual({ event: 'ban', jail: 'freeswitch', cidr: '203.0.113.7/32' });
    const unban = formatMessage({
      kind: 'unban',
      ban: { ...BAN, expiresAt: null },
      cause: 'released',
    });
    expect(unban.subject).toBe('cloudjail: unbanned 203.0.113.7/32 (freeswitch)');
    expect(unban.message).toContain('expires:    permanent');
    expect(unban.message).not.toContain('matched lines');
  });

  it('keeps the subject within SNS limits whatever the jail name', () => {
    const msg = formatMessage({
      kind: 'ban',
      ban: { ...BAN, jail: `j\u00e9${'x'.repeat(200)}` },
      cause: 'new ban',
    });
    expect(msg.subject.length).toBeLessThanOrEqual(100);
    expect(msg.subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('notifier: handler', () => {
  it('publishes one message per change and reports the first failed record for retry', async () => {
    const sent: string[] = [];
    let fail = false;
    const handler = makeNotifierHandler({
      codec,
      async publish(message) {
        if (fail) throw new Error('SNS down');
        sent.push(message.subject);
      },
    });
    const ok = await handler({
      Records: [
        record('INSERT', undefined, live, '1'),
        record('MODIFY', live, { ...live, enforcedAt: 1 }, '2'),
        record('MODIFY', live, lifted, '3'),
      ],
    });
    expect(ok.batchItemFailures).toEqual([]);
    expect(sent).toEqual([
      'cloudjail: banned 203.0.113.7/32 (freeswitch)',
      'cloudjail: unbanned 203.0.113.7/32 (freeswitch)',
    ]);
    fail = true;
    const failed = await handler({
      Records: [record('INSERT', undefined, live, '7'), record('INSERT', undefined, live, '8')],
    });
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
  });
});
