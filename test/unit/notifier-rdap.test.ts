/**
 * Ban notifications carry who the address belongs to (issue 15, item 15), over RDAP (HTTPS JSON
 * with `fetch`, registry chosen from an IANA-style bootstrap file), against a loopback RDAP server:
 * network name, country, abuse contact; and a slow or failing registry never holds back or fails
 * the notification.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdapOrigin } from '../../lambda/adapters/rdap-origin.js';
import type { Ban } from '../../lambda/core/ban.js';
import { rdapBaseFor } from '../../lambda/core/rdap.js';
import { type BanItemCodec, makeNotifierHandler } from '../../lambda/handlers/notifier.js';

const codec: BanItemCodec = {
  toBan: (item) => (item['kind'] === 'ban' ? (item['ban'] as Ban) : undefined),
  isLifted: () => false,
};

const ban = (cidr: string): Ban => ({
  jail: 'freeswitch',
  cidr,
  createdAt: Date.UTC(2026, 0, 1, 12),
  expiresAt: Date.UTC(2026, 0, 1, 13),
  source: 'detector',
  failures: 5,
  banCount: 1,
});

const insert = (cidr: string): DynamoDBRecord => ({
  eventID: 'e1',
  eventName: 'INSERT',
  dynamodb: {
    SequenceNumber: '1',
    NewImage: marshall({ kind: 'ban', ban: ban(cidr) }) as NonNullable<
      DynamoDBRecord['dynamodb']
    >['NewImage'],
  },
});

let server: Server;
let base = '';
const requests: string[] = [];

const NETWORK = {
  objectClassName: 'ip network',
  handle: 'NET-203-0-113-0-1',
  startAddress: '203.0.113.0',
  endAddress: '203.0.113.255',
  name: 'EXAMPLE-SIP-SCANNERS',
  country: 'ZZ',
  entities: [
    {
      objectClassName: 'entity',
      roles: ['registrant'],
      entities: [
        {
          objectClassName: 'entity',
          roles: ['abuse'],
          vcardArray: [
            'vcard',
            [
              ['version', {}, 'text', '4.0'],
              ['email', {}, 'text', 'abuse@example.net'],
            ],
          ],
        },
      ],
    },
  ],
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/rdap+json' });
      res.end(JSON.stringify(body));
    };
    if (url === '/bootstrap/ipv4.json') {
      return json(200, {
        services: [
          [['203.0.113.0/24'], [`${base}/rir-a/`]],
          [['198.51.100.0/24'], [`${base}/rir-slow/`]],
          [['192.0.2.0/24'], [`${base}/rir-broken/`]],
        ],
      });
    }
    if (url === '/bootstrap/ipv6.json') return json(200, { services: [] });
    if (url.startsWith('/rir-a/ip/203.0.113.')) return json(200, NETWORK);
    if (url.startsWith('/rir-slow/')) return void setTimeout(() => json(200, NETWORK), 5000);
    return json(500, { errorCode: 500 });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function notifier(timeoutMs = 1000) {
  const sent: string[] = [];
  const origin = new RdapOrigin({
    bootstrapUrls: [`${base}/bootstrap/ipv4.json`, `${base}/bootstrap/ipv6.json`],
    timeoutMs,
  });
  const handler = makeNotifierHandler({
    codec,
    origin,
    async publish(m) {
      sent.push(m.message);
    },
  });
  return { handler, sent };
}

describe('ban notifications with the address origin (RDAP)', () => {
  it('name, range, country and abuse contact of the network, from the registry the bootstrap names', async () => {
    const { handler, sent } = notifier();
    const out = await handler({ Records: [insert('203.0.113.7/32')] });
    expect(out.batchItemFailures).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain(
      'network:    EXAMPLE-SIP-SCANNERS (NET-203-0-113-0-1), 203.0.113.0 - 203.0.113.255',
    );
    expect(sent[0]).toContain('country:    ZZ');
    expect(sent[0]).toContain('abuse:      abuse@example.net');
    expect(sent[0]).toContain(`whois:      ${base}/rir-a/ip/203.0.113.7`);
    // A second ban of the same address is answered from the cache.
    const before = requests.length;
    await handler({ Records: [insert('203.0.113.7/32')] });
    expect(requests.length).toBe(before);
  });

  it('a slow registry: the notification goes out without the origin, within the timeout', async () => {
    const { handler, sent } = notifier(300);
    const t0 = Date.now();
    const out = await handler({ Records: [insert('198.51.100.9/32')] });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(out.batchItemFailures).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('198.51.100.9/32 banned');
    expect(sent[0]).not.toContain('network:');
  });

  it('a failing registry or an address no registry serves: sent without the origin, never failed', async () => {
    const { handler, sent } = notifier();
    const out = await handler({ Records: [insert('192.0.2.9/32'), insert('2001:db8::9/128')] });
    expect(out.batchItemFailures).toEqual([]);
    expect(sent).toHaveLength(2);
    for (const m of sent) expect(m).not.toContain('network:');
  });

  it('bootstrap: the longest matching prefix wins, https preferred', () => {
    const boot = {
      services: [
        [['203.0.0.0/8'], ['http://a.example/', 'https://a.example/']],
        [['203.0.113.0/24'], ['https://b.example/']],
      ] as [string[], string[]][],
    };
    expect(rdapBaseFor([boot], '203.0.113.7')).toBe('https://b.example/');
    expect(rdapBaseFor([boot], '203.0.5.1')).toBe('https://a.example/');
    expect(rdapBaseFor([boot], '198.51.100.1')).toBeUndefined();
  });
});
