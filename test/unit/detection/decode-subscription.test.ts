import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSubscription, PayloadError } from '../../../lambda/handlers/decode-subscription.js';
import {
  controlMessageEvent,
  encodeAwslogsData,
  subscriptionEvent,
} from '../../helpers/subscription-payload.js';

describe('decodeSubscription', () => {
  it('decodes base64 → gunzip → JSON into a batch', () => {
    const events = [{ id: '1', timestamp: 1, message: 'a' }];
    const batch = decodeSubscription(subscriptionEvent({ logGroup: '/g', logStream: 's', events }));
    expect(batch).toEqual({ logGroup: '/g', logStream: 's', events });
  });

  it('returns null for a CONTROL_MESSAGE', () => {
    expect(decodeSubscription(controlMessageEvent())).toBeNull();
  });

  it('tolerates a missing log stream', () => {
    const data = encodeAwslogsData({ messageType: 'DATA_MESSAGE', logGroup: '/g', logEvents: [] });
    expect(decodeSubscription({ awslogs: { data } })).toEqual({
      logGroup: '/g',
      logStream: '',
      events: [],
    });
  });

  it.each([
    ['no awslogs', {}, 'no awslogs.data'],
    ['null event', null, 'no awslogs.data'],
    ['data not a string', { awslogs: { data: 42 } }, 'no awslogs.data'],
    [
      'not gzip',
      { awslogs: { data: Buffer.from('hello').toString('base64') } },
      'not base64 gzip JSON',
    ],
    [
      'gzip of non-JSON',
      { awslogs: { data: gzipSync('{oops').toString('base64') } },
      'not base64 gzip JSON',
    ],
    [
      'no logGroup',
      { awslogs: { data: encodeAwslogsData({ logEvents: [] }) } },
      'no logGroup or logEvents',
    ],
    [
      'logEvents not a list',
      { awslogs: { data: encodeAwslogsData({ logGroup: '/g', logEvents: {} }) } },
      'no logGroup or logEvents',
    ],
  ])('rejects %s with a PayloadError naming the problem', (_, event, message) => {
    expect(() => decodeSubscription(event)).toThrow(PayloadError);
    expect(() => decodeSubscription(event)).toThrow(message);
  });
});
