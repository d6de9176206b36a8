import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeSubscription,
  MAX_INFLATED_BYTES,
  PayloadError,
} from '../../../lambda/handlers/decode-subscription.js';
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

  it('returns a ControlMessage for a CONTROL_MESSAGE, counting events that are not the check', () => {
    expect(decodeSubscription(controlMessageEvent())).toEqual({
      controlMessage: true,
      events: 1,
      unexpectedEvents: 0,
    });
    const data = encodeAwslogsData({
      messageType: 'CONTROL_MESSAGE',
      logGroup: '/g',
      logEvents: [
        { id: '1', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health' },
        { id: '2', timestamp: 2, message: 'SIP auth failure from ip 203.0.113.7' },
      ],
    });
    expect(decodeSubscription({ awslogs: { data } })).toEqual({
      controlMessage: true,
      events: 2,
      unexpectedEvents: 1,
    });
  });

  it('rejects a payload that inflates beyond MAX_INFLATED_BYTES, without inflating it all', () => {
    // 17 MB of spaces gzip to ~17 KB: a decompression bomb in miniature.
    const bomb = gzipSync(Buffer.alloc(MAX_INFLATED_BYTES + 1024 * 1024, 0x20)).toString('base64');
    expect(bomb.length).toBeLessThan(100_000);
    expect(() => decodeSubscription({ awslogs: { data: bomb } })).toThrow(PayloadError);
    expect(() => decodeSubscription({ awslogs: { data: bomb } })).toThrow(/inflates beyond/);
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
    ['JSON null', { awslogs: { data: encodeAwslogsData(null) } }, 'payload is null'],
    ['a JSON list', { awslogs: { data: encodeAwslogsData([1]) } }, 'not a JSON object'],
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
