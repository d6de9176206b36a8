/**
 * The local CloudWatch Logs endpoint through the real @aws-sdk/client-cloudwatch-logs: limits and
 * error codes of PutLogEvents, pagination of FilterLogEvents, subscription filters and their
 * delivery (payload shape, pattern, batching, redelivery).
 */
import { gunzipSync } from 'node:zlib';
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteSubscriptionFilterCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  DescribeSubscriptionFiltersCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  PutSubscriptionFilterCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeSubscription } from '../../lambda/handlers/decode-subscription.js';
import { type LocalLogs, startLocalLogs } from '../../local/logs-endpoint.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:detector';
let logs: LocalLogs | undefined;

afterEach(async () => {
  await logs?.stop();
  logs = undefined;
});

interface Payload {
  messageType: string;
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: { id: string; timestamp: number; message: string }[];
}
const decode = (e: { awslogs: { data: string } }) =>
  JSON.parse(gunzipSync(Buffer.from(e.awslogs.data, 'base64')).toString('utf8')) as Payload;

async function setup(options: Parameters<typeof startLocalLogs>[0] = {}) {
  const received: Payload[] = [];
  let fail = 0;
  logs = await startLocalLogs({
    now: () => NOW,
    destinations: {
      [ARN]: async (event) => {
        const p = decode(event);
        if (p.messageType === 'DATA_MESSAGE' && fail > 0) {
          fail--;
          throw new Error('detector down');
        }
        received.push(p);
        // The detector's own decoder accepts what the endpoint sends.
        decodeSubscription(event);
      },
    },
    ...options,
  });
  const client = logs.client();
  await client.send(new CreateLogGroupCommand({ logGroupName: '/g' }));
  await client.send(new CreateLogStreamCommand({ logGroupName: '/g', logStreamName: 's' }));
  return { client, received, failNext: (n: number) => (fail = n) };
}

describe('local CloudWatch Logs endpoint', () => {
  it('creates and describes groups and streams; duplicates and missing ones use AWS codes', async () => {
    const { client } = await setup();
    await expect(
      client.send(new CreateLogGroupCommand({ logGroupName: '/g' })),
    ).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsException',
    });
    await expect(
      client.send(new CreateLogStreamCommand({ logGroupName: '/g', logStreamName: 's' })),
    ).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await expect(
      client.send(new CreateLogStreamCommand({ logGroupName: '/nope', logStreamName: 's' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const groups = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/' }));
    expect(groups.logGroups?.map((g) => g.logGroupName)).toEqual(['/g']);
    await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: [{ timestamp: NOW - 1000, message: 'hello' }],
      }),
    );
    const streams = await client.send(new DescribeLogStreamsCommand({ logGroupName: '/g' }));
    expect(streams.logStreams?.[0]).toMatchObject({
      logStreamName: 's',
      lastEventTimestamp: NOW - 1000,
      lastIngestionTime: NOW,
    });
  });

  it('PutLogEvents enforces the batch limits and order with InvalidParameterException', async () => {
    const { client } = await setup();
    const put = (logEvents: { timestamp: number; message: string }[]) =>
      client.send(new PutLogEventsCommand({ logGroupName: '/g', logStreamName: 's', logEvents }));
    await expect(
      put([
        { timestamp: NOW, message: 'b' },
        { timestamp: NOW - 1, message: 'a' },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: /chronological/ });
    await expect(
      put([
        { timestamp: NOW - 25 * 3_600_000, message: 'a' },
        { timestamp: NOW, message: 'b' },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: /24 hours/ });
    // 1,048,576 bytes counts 26 per event: 2 events of 524,262 bytes fit, one byte more does not.
    const fit = 524_288 - 26;
    await expect(
      put([
        { timestamp: NOW, message: 'x'.repeat(fit) },
        { timestamp: NOW, message: 'y'.repeat(fit) },
      ]),
    ).resolves.toBeDefined();
    await expect(
      put([
        { timestamp: NOW, message: 'x'.repeat(fit) },
        { timestamp: NOW, message: 'y'.repeat(fit + 1) },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: /Upload too large/ });
    const many = Array.from({ length: 10_001 }, () => ({ timestamp: NOW, message: 'm' }));
    await expect(put(many)).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(put(many.slice(1))).resolves.toBeDefined();
    await expect(
      client.send(
        new PutLogEventsCommand({
          logGroupName: '/g',
          logStreamName: 'missing',
          logEvents: [{ timestamp: NOW, message: 'x' }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('too old, expired and too new events are rejected one by one (rejectedLogEventsInfo)', async () => {
    const { client } = await setup();
    await client.send(new PutRetentionPolicyCommand({ logGroupName: '/g', retentionInDays: 1 }));
    const out = await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: [
          { timestamp: NOW - 24 * 3_600_000 - 60_000, message: 'expired' },
          { timestamp: NOW - 24 * 3_600_000 + 60_000, message: 'kept' },
          { timestamp: NOW - 24 * 3_600_000 + 120_000, message: 'kept too' },
        ],
      }),
    );
    expect(out.rejectedLogEventsInfo).toEqual({ expiredLogEventEndIndex: 1 });
    const future = await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: [
          { timestamp: NOW + 3_600_000, message: 'soon' },
          { timestamp: NOW + 3 * 3_600_000, message: 'too new' },
        ],
      }),
    );
    expect(future.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    expect(logs?.events('/g', 's').map((e) => e.message)).toEqual(['kept', 'kept too', 'soon']);
    const old = await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: [{ timestamp: NOW - 15 * 24 * 3_600_000, message: 'ancient' }],
      }),
    );
    expect(old.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 1 });
  });

  it('FilterLogEvents pages by nextToken with startTime/endTime/filterPattern; GetLogEvents reads a stream', async () => {
    const { client } = await setup({ pageEvents: 7 });
    const logEvents = Array.from({ length: 50 }, (_, i) => ({
      timestamp: NOW - 100_000 + i * 1000,
      message: i % 2 === 0 ? `even ${i} ERROR` : `odd ${i}`,
    }));
    await client.send(
      new PutLogEventsCommand({ logGroupName: '/g', logStreamName: 's', logEvents }),
    );
    const seen: string[] = [];
    const ids = new Set<string>();
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new FilterLogEventsCommand({
          logGroupName: '/g',
          startTime: NOW - 90_000,
          endTime: NOW - 60_000,
          filterPattern: 'ERROR',
          nextToken,
        }),
      );
      pages++;
      for (const e of page.events ?? []) {
        seen.push(e.message as string);
        ids.add(e.eventId as string);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    // Events 10..40 inclusive, the even ones: 16 of them, in 3 pages of at most 7.
    expect(seen).toHaveLength(16);
    expect(seen[0]).toBe('even 10 ERROR');
    expect(seen[15]).toBe('even 40 ERROR');
    expect(ids.size).toBe(16);
    expect(pages).toBe(3);
    const head = await client.send(
      new GetLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        startFromHead: true,
        limit: 3,
      }),
    );
    expect(head.events?.map((e) => e.message)).toEqual(['even 0 ERROR', 'odd 1', 'even 2 ERROR']);
    await expect(
      client.send(new FilterLogEventsCommand({ logGroupName: '/g', filterPattern: '%(x)%' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('subscription filters: control message, pattern, real payload, at most 2 per group', async () => {
    const { client, received } = await setup({ delivery: { flushAfterMs: 20 } });
    await client.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/g',
        filterName: 'f1',
        filterPattern: '%sofia|registration%',
        destinationArn: ARN,
      }),
    );
    expect(received[0]?.messageType).toBe('CONTROL_MESSAGE');
    await expect(
      client.send(
        new PutSubscriptionFilterCommand({
          logGroupName: '/g',
          filterName: 'bad',
          filterPattern: '',
          destinationArn: 'arn:aws:lambda:us-east-1:123456789012:function:nobody',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await client.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/g',
        filterName: 'f2',
        filterPattern: '',
        destinationArn: ARN,
      }),
    );
    await expect(
      client.send(
        new PutSubscriptionFilterCommand({
          logGroupName: '/g',
          filterName: 'f3',
          filterPattern: '',
          destinationArn: ARN,
        }),
      ),
    ).rejects.toMatchObject({ name: 'LimitExceededException' });
    await client.send(
      new DeleteSubscriptionFilterCommand({ logGroupName: '/g', filterName: 'f2' }),
    );
    await expect(
      client.send(new DeleteSubscriptionFilterCommand({ logGroupName: '/g', filterName: 'f2' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const described = await client.send(
      new DescribeSubscriptionFiltersCommand({ logGroupName: '/g' }),
    );
    expect(described.subscriptionFilters?.map((f) => [f.filterName, f.destinationArn])).toEqual([
      ['f1', ARN],
    ]);

    await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: [
          { timestamp: NOW - 2, message: 'sofia_reg.c:1 auth failure' },
          { timestamp: NOW - 1, message: 'switch_core.c started' },
          { timestamp: NOW, message: 'A registration failed' },
        ],
      }),
    );
    await expect
      .poll(() => received.filter((p) => p.messageType === 'DATA_MESSAGE').length)
      .toBe(1);
    const data = received.find((p) => p.messageType === 'DATA_MESSAGE') as Payload;
    expect(data).toMatchObject({
      owner: '123456789012',
      logGroup: '/g',
      logStream: 's',
      subscriptionFilters: ['f1'],
    });
    expect(data.logEvents.map((e) => e.message)).toEqual([
      'sofia_reg.c:1 auth failure',
      'A registration failed',
    ]);
    expect(data.logEvents.map((e) => e.id)).toEqual(
      logs
        ?.events('/g', 's')
        .filter((e) => e.message !== 'switch_core.c started')
        .map((e) => e.id),
    );
    expect(data.logEvents[0]?.id).toMatch(/^\d{56}$/);
  });

  it('batches by size, and redelivers a batch the destination rejected', async () => {
    const { client, received, failNext } = await setup({
      delivery: {
        flushAfterMs: 60_000,
        maxBatchBytes: 3 * (26 + 'event 0'.length),
        retryDelayMs: 10,
      },
    });
    await client.send(
      new PutSubscriptionFilterCommand({
        logGroupName: '/g',
        filterName: 'all',
        filterPattern: '',
        destinationArn: ARN,
      }),
    );
    failNext(1);
    await client.send(
      new PutLogEventsCommand({
        logGroupName: '/g',
        logStreamName: 's',
        logEvents: Array.from({ length: 6 }, (_, i) => ({ timestamp: NOW, message: `event ${i}` })),
      }),
    );
    // Two full batches (3 events each) go out at once, without waiting for flushAfterMs; the
    // first attempt fails and is delivered again.
    await expect
      .poll(() => received.filter((p) => p.messageType === 'DATA_MESSAGE').length, {
        timeout: 5000,
      })
      .toBe(2);
    const stats = logs?.deliveryStats()[0];
    expect(stats).toMatchObject({ deliveredBatches: 2, deliveredEvents: 6, failedAttempts: 1 });
    expect(stats?.lastError).toBe('detector down');
    const delivered = received
      .filter((p) => p.messageType === 'DATA_MESSAGE')
      .flatMap((p) => p.logEvents.map((e) => e.message))
      .sort();
    expect(delivered).toEqual(Array.from({ length: 6 }, (_, i) => `event ${i}`));
  });
});
