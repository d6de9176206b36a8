/**
 * The local EC2 endpoint, through the real `@aws-sdk/client-ec2` over HTTP: XML round-trips, AWS
 * semantics (default denies, per-direction rule numbers, quota counting, CIDR canonicalisation),
 * error codes and fault injection; then the EC2 network ACL adapter against it.
 */
import {
  CreateNetworkAclEntryCommand,
  type CreateNetworkAclEntryCommandInput,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  type DescribeNetworkAclsCommandInput,
  paginateDescribeNetworkAcls,
  ReplaceNetworkAclEntryCommand,
} from '@aws-sdk/client-ec2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEc2Client, Ec2NetworkAcls } from '../../lambda/adapters/ec2-network-acls.js';
import {
  ConfigError,
  Ec2ThrottledError,
  NaclEntryExistsError,
  NaclEntryInvalidError,
  NaclEntryLimitError,
  NaclEntryNotFoundError,
  NaclNotFoundError,
} from '../../lambda/core/errors.js';
import type { NaclEntry } from '../../lambda/ports/network-acls.js';
import {
  type LocalAclSpec,
  type LocalEc2,
  type LocalEc2Options,
  SAMPLE_ACL,
  sampleAcl,
  startLocalEc2,
} from '../../local/ec2-endpoint.js';

const ACL = SAMPLE_ACL.naclId;
const running: LocalEc2[] = [];

async function start(options: Partial<LocalEc2Options> = {}): Promise<LocalEc2> {
  const ec2 = await startLocalEc2({ acls: [SAMPLE_ACL], ...options });
  running.push(ec2);
  return ec2;
}

afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(running.splice(0).map((ec2) => ec2.stop()));
});

function deny(ruleNumber: number, cidr: string, extra: Partial<NaclEntry> = {}): NaclEntry {
  return { ruleNumber, egress: false, ruleAction: 'deny', protocol: '-1', cidr, ...extra };
}

function createInput(
  ruleNumber: number,
  cidr: { CidrBlock: string } | { Ipv6CidrBlock: string },
  extra: Partial<CreateNetworkAclEntryCommandInput> = {},
): CreateNetworkAclEntryCommandInput {
  return {
    NetworkAclId: ACL,
    RuleNumber: ruleNumber,
    Protocol: '-1',
    RuleAction: 'deny',
    Egress: false,
    ...cidr,
    ...extra,
  };
}

/** The SDK error's code (its `name`), or 'ok'. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

async function rawPost(ec2: LocalEc2, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(ec2.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** 10.0.<i>.0/24, distinct per i. */
const v4 = (i: number) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`;

describe('local EC2 endpoint: DescribeNetworkAcls', () => {
  it('round-trips every field the SDK parses: both families, port ranges, outbound entries, associations', async () => {
    // Prepare
    const spec: LocalAclSpec = {
      naclId: 'acl-0aa11bb22',
      vpcId: 'vpc-0feed',
      subnetIds: ['subnet-0a', 'subnet-0b'],
      entries: [
        deny(10, '203.0.113.7/32', { protocol: '17', portRange: { from: 5060, to: 5061 } }),
        deny(11, '2001:db8::7/128', { protocol: '6', portRange: { from: 5061, to: 5061 } }),
        {
          ruleNumber: 90,
          egress: true,
          ruleAction: 'allow',
          protocol: '6',
          cidr: '198.51.100.0/24',
          portRange: { from: 1024, to: 65535 },
        },
        { ruleNumber: 100, egress: false, ruleAction: 'allow', protocol: '-1', cidr: '0.0.0.0/0' },
      ],
    };
    const ec2 = await start({ acls: [spec] });

    // Act
    const out = await ec2
      .client()
      .send(new DescribeNetworkAclsCommand({ NetworkAclIds: [spec.naclId] }));

    // Assess
    expect(out.NextToken).toBeUndefined();
    expect(out.NetworkAcls).toHaveLength(1);
    const acl = out.NetworkAcls?.[0];
    expect(acl?.NetworkAclId).toBe('acl-0aa11bb22');
    expect(acl?.VpcId).toBe('vpc-0feed');
    expect(acl?.IsDefault).toBe(false);
    expect(acl?.OwnerId).toBe('000000000000');
    expect(acl?.Tags).toEqual([]);
    expect(acl?.Associations?.map((a) => [a.NetworkAclId, a.SubnetId])).toEqual([
      ['acl-0aa11bb22', 'subnet-0a'],
      ['acl-0aa11bb22', 'subnet-0b'],
    ]);
    expect(acl?.Associations?.[0]?.NetworkAclAssociationId).toMatch(/^aclassoc-[0-9a-f]{8}$/);
    const byKey = new Map(acl?.Entries?.map((e) => [`${e.Egress}:${e.RuleNumber}`, e]));
    expect(byKey.get('false:10')).toEqual({
      RuleNumber: 10,
      Protocol: '17',
      RuleAction: 'deny',
      Egress: false,
      CidrBlock: '203.0.113.7/32',
      PortRange: { From: 5060, To: 5061 },
    });
    expect(byKey.get('false:11')).toEqual({
      RuleNumber: 11,
      Protocol: '6',
      RuleAction: 'deny',
      Egress: false,
      Ipv6CidrBlock: '2001:db8::7/128',
      PortRange: { From: 5061, To: 5061 },
    });
    expect(byKey.get('true:90')).toEqual({
      RuleNumber: 90,
      Protocol: '6',
      RuleAction: 'allow',
      Egress: true,
      CidrBlock: '198.51.100.0/24',
      PortRange: { From: 1024, To: 65535 },
    });
    expect(byKey.get('false:100')).toEqual({
      RuleNumber: 100,
      Protocol: '-1',
      RuleAction: 'allow',
      Egress: false,
      CidrBlock: '0.0.0.0/0',
    });
    // The four default denies.
    for (const egress of [false, true]) {
      expect(byKey.get(`${egress}:32767`)).toEqual({
        RuleNumber: 32767,
        Protocol: '-1',
        RuleAction: 'deny',
        Egress: egress,
        CidrBlock: '0.0.0.0/0',
      });
      expect(byKey.get(`${egress}:32768`)).toEqual({
        RuleNumber: 32768,
        Protocol: '-1',
        RuleAction: 'deny',
        Egress: egress,
        Ipv6CidrBlock: '::/0',
      });
    }
    expect(acl?.Entries).toHaveLength(8);
  });

  it('selects by id list and by network-acl-id, vpc-id and association.subnet-id filters (with wildcards)', async () => {
    const ec2 = await start({ acls: ['acl-01', 'acl-02', 'acl-03'].map(sampleAcl) });
    const client = ec2.client();
    const ids = async (input: DescribeNetworkAclsCommandInput) =>
      (await client.send(new DescribeNetworkAclsCommand(input))).NetworkAcls?.map(
        (a) => a.NetworkAclId,
      );

    expect(await ids({})).toEqual(['acl-01', 'acl-02', 'acl-03']);
    expect(await ids({ NetworkAclIds: ['acl-03', 'acl-01'] })).toEqual(['acl-03', 'acl-01']);
    expect(await ids({ Filters: [{ Name: 'vpc-id', Values: ['vpc-02', 'vpc-03'] }] })).toEqual([
      'acl-02',
      'acl-03',
    ]);
    expect(
      await ids({ Filters: [{ Name: 'association.subnet-id', Values: ['subnet-01'] }] }),
    ).toEqual(['acl-01']);
    expect(
      await ids({
        Filters: [
          { Name: 'network-acl-id', Values: ['acl-0?'] },
          { Name: 'vpc-id', Values: ['*3'] },
        ],
      }),
    ).toEqual(['acl-03']);
    expect(
      await ids({
        NetworkAclIds: ['acl-01', 'acl-02'],
        Filters: [{ Name: 'vpc-id', Values: ['vpc-02'] }],
      }),
    ).toEqual(['acl-02']);
    expect(
      await codeOf(
        client.send(
          new DescribeNetworkAclsCommand({ Filters: [{ Name: 'owner', Values: ['x'] }] }),
        ),
      ),
    ).toBe('InvalidParameterValue');
  });

  it('paginates with MaxResults and NextToken, and rejects bad page sizes and tokens', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `acl-${String(i).padStart(2, '0')}`);
    const ec2 = await start({ acls: ids.map(sampleAcl) });
    const client = ec2.client();

    const pages: string[][] = [];
    for await (const page of paginateDescribeNetworkAcls({ client, pageSize: 5 }, {})) {
      pages.push(page.NetworkAcls?.map((a) => a.NetworkAclId ?? '') ?? []);
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(ids);
    expect(ec2.stats.requests.DescribeNetworkAcls).toBe(3);

    expect(await codeOf(client.send(new DescribeNetworkAclsCommand({ MaxResults: 4 })))).toBe(
      'InvalidParameterValue',
    );
    expect(
      await codeOf(
        client.send(new DescribeNetworkAclsCommand({ MaxResults: 5, NextToken: 'bogus' })),
      ),
    ).toBe('InvalidPaginationToken');
  });

  it('fails the whole call for an unknown id (InvalidNetworkAclID.NotFound)', async () => {
    const ec2 = await start();
    const error = await ec2
      .client()
      .send(new DescribeNetworkAclsCommand({ NetworkAclIds: [ACL, 'acl-0dead'] }))
      .catch((e: Error) => e);
    expect((error as Error).name).toBe('InvalidNetworkAclID.NotFound');
    expect((error as Error).message).toContain("'acl-0dead'");
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  });
});

describe('local EC2 endpoint: entry mutations', () => {
  it('creates, replaces and deletes entries; canonicalises CIDRs of both families', async () => {
    const ec2 = await start();
    const client = ec2.client();

    await client.send(
      new CreateNetworkAclEntryCommand(createInput(1, { CidrBlock: '100.68.0.18/18' })),
    );
    await client.send(
      new CreateNetworkAclEntryCommand(
        createInput(
          2,
          { Ipv6CidrBlock: '2001:DB8:0:0:0:0:0:1/64' },
          { Protocol: 'udp', PortRange: { From: 5060, To: 5061 } },
        ),
      ),
    );
    await client.send(
      new CreateNetworkAclEntryCommand(
        createInput(3, { CidrBlock: '192.0.2.1/32' }, { Egress: true }),
      ),
    );
    expect(ec2.entries(ACL).filter((e) => e.ruleNumber < 100)).toEqual([
      deny(1, '100.68.0.0/18'),
      deny(2, '2001:db8::/64', { protocol: '17', portRange: { from: 5060, to: 5061 } }),
      deny(3, '192.0.2.1/32', { egress: true }),
    ]);

    await client.send(
      new ReplaceNetworkAclEntryCommand(
        createInput(
          1,
          { CidrBlock: '198.51.100.9/24' },
          { Protocol: '6', PortRange: { From: 5061, To: 5061 } },
        ),
      ),
    );
    await client.send(
      new DeleteNetworkAclEntryCommand({ NetworkAclId: ACL, RuleNumber: 2, Egress: false }),
    );
    expect(ec2.entries(ACL).filter((e) => e.ruleNumber < 100)).toEqual([
      deny(1, '198.51.100.0/24', { protocol: '6', portRange: { from: 5061, to: 5061 } }),
      deny(3, '192.0.2.1/32', { egress: true }),
    ]);
    expect(ec2.stats.requests).toMatchObject({
      CreateNetworkAclEntry: 3,
      ReplaceNetworkAclEntry: 1,
      DeleteNetworkAclEntry: 1,
    });
  });

  it('keeps rule numbers unique per direction across both families', async () => {
    const ec2 = await start();
    const client = ec2.client();
    await client.send(
      new CreateNetworkAclEntryCommand(createInput(5, { CidrBlock: '203.0.113.7/32' })),
    );

    expect(
      await codeOf(
        client.send(
          new CreateNetworkAclEntryCommand(createInput(5, { Ipv6CidrBlock: '2001:db8::7/128' })),
        ),
      ),
    ).toBe('NetworkAclEntryAlreadyExists');
    expect(
      await codeOf(
        client.send(
          new CreateNetworkAclEntryCommand(
            createInput(5, { Ipv6CidrBlock: '2001:db8::7/128' }, { Egress: true }),
          ),
        ),
      ),
    ).toBe('ok');
    expect(
      await codeOf(
        client.send(
          new DeleteNetworkAclEntryCommand({ NetworkAclId: ACL, RuleNumber: 6, Egress: false }),
        ),
      ),
    ).toBe('InvalidNetworkAclEntry.NotFound');
    expect(
      await codeOf(
        client.send(
          new ReplaceNetworkAclEntryCommand(createInput(6, { CidrBlock: '203.0.113.8/32' })),
        ),
      ),
    ).toBe('InvalidNetworkAclEntry.NotFound');
    expect(
      await codeOf(
        client.send(
          new CreateNetworkAclEntryCommand({
            ...createInput(7, { CidrBlock: '203.0.113.8/32' }),
            NetworkAclId: 'acl-0dead',
          }),
        ),
      ),
    ).toBe('InvalidNetworkAclID.NotFound');
  });

  it('protects the default denies and rejects bad rule numbers, CIDRs, protocols and ports (InvalidParameterValue)', async () => {
    const ec2 = await start();
    const client = ec2.client();
    const create = (n: number, cidr: Parameters<typeof createInput>[1], extra = {}) =>
      codeOf(client.send(new CreateNetworkAclEntryCommand(createInput(n, cidr, extra))));

    expect(
      await codeOf(
        client.send(
          new DeleteNetworkAclEntryCommand({ NetworkAclId: ACL, RuleNumber: 32767, Egress: false }),
        ),
      ),
    ).toBe('InvalidParameterValue');
    expect(
      await codeOf(
        client.send(
          new ReplaceNetworkAclEntryCommand(
            createInput(32768, { Ipv6CidrBlock: '::/0' }, { RuleAction: 'allow' }),
          ),
        ),
      ),
    ).toBe('InvalidParameterValue');
    expect(await create(0, { CidrBlock: '192.0.2.1/32' })).toBe('InvalidParameterValue');
    expect(await create(32767, { CidrBlock: '192.0.2.1/32' })).toBe('InvalidParameterValue');
    expect(await create(8, { CidrBlock: '192.0.2.300/32' })).toBe('InvalidParameterValue');
    expect(await create(8, { CidrBlock: '192.0.2.1' })).toBe('InvalidParameterValue');
    expect(await create(8, { CidrBlock: '2001:db8::1/128' })).toBe('InvalidParameterValue');
    expect(await create(8, { Ipv6CidrBlock: '192.0.2.1/32' })).toBe('InvalidParameterValue');
    expect(await create(8, { CidrBlock: '192.0.2.1/32' }, { Protocol: 'sctp-ish' })).toBe(
      'InvalidParameterValue',
    );
    expect(await create(8, { CidrBlock: '192.0.2.1/32' }, { Protocol: '256' })).toBe(
      'InvalidParameterValue',
    );
    expect(
      await create(
        8,
        { CidrBlock: '192.0.2.1/32' },
        { Protocol: '6', PortRange: { From: 6000, To: 5060 } },
      ),
    ).toBe('InvalidParameterValue');
    expect(await create(8, { CidrBlock: '192.0.2.1/32' }, { RuleAction: 'drop' as 'deny' })).toBe(
      'InvalidParameterValue',
    );
    expect(await create(8, { CidrBlock: '192.0.2.1/32' }, { Protocol: '6' })).toBe(
      'MissingParameter',
    );
    // Nothing above changed the ACL.
    expect(ec2.entries(ACL)).toEqual(await (await start()).entries(ACL));
  });

  it('counts the quota per direction and per family, default deny and allow rule included', async () => {
    // SAMPLE_ACL has allow 100 (IPv4) and 101 (IPv6) each way: with quota 20, 18 denies fit.
    const ec2 = await start({ ruleQuota: 20 });
    const client = ec2.client();
    const results: string[] = [];
    for (let n = 1; n <= 19; n++) {
      results.push(
        await codeOf(
          client.send(new CreateNetworkAclEntryCommand(createInput(n, { CidrBlock: v4(n) }))),
        ),
      );
    }
    expect(results.slice(0, 18).every((r) => r === 'ok')).toBe(true);
    expect(results[18]).toBe('NetworkAclEntryLimitExceeded');

    // Other family, other direction: still room. Same-family replace in a full set: allowed.
    expect(
      await codeOf(
        client.send(
          new CreateNetworkAclEntryCommand(createInput(19, { Ipv6CidrBlock: '2001:db8::/64' })),
        ),
      ),
    ).toBe('ok');
    expect(
      await codeOf(
        client.send(
          new CreateNetworkAclEntryCommand(
            createInput(20, { CidrBlock: v4(20) }, { Egress: true }),
          ),
        ),
      ),
    ).toBe('ok');
    expect(
      await codeOf(
        client.send(new ReplaceNetworkAclEntryCommand(createInput(1, { CidrBlock: v4(99) }))),
      ),
    ).toBe('ok');
    // A replace moving an IPv6 rule into the full IPv4 set needs a free IPv4 slot.
    expect(
      await codeOf(
        client.send(new ReplaceNetworkAclEntryCommand(createInput(19, { CidrBlock: v4(98) }))),
      ),
    ).toBe('NetworkAclEntryLimitExceeded');
    // Freeing one IPv4 slot makes room again.
    await client.send(
      new DeleteNetworkAclEntryCommand({ NetworkAclId: ACL, RuleNumber: 2, Egress: false }),
    );
    expect(
      await codeOf(
        client.send(new CreateNetworkAclEntryCommand(createInput(2, { CidrBlock: v4(2) }))),
      ),
    ).toBe('ok');
    const inboundV4 = ec2.entries(ACL).filter((e) => !e.egress && !e.cidr.includes(':'));
    expect(inboundV4).toHaveLength(20);
  });

  it('applies concurrent requests atomically', async () => {
    const ec2 = await start();
    const client = ec2.client();
    // 25 racing creates of the same number: exactly one wins.
    const same = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        codeOf(client.send(new CreateNetworkAclEntryCommand(createInput(7, { CidrBlock: v4(i) })))),
      ),
    );
    expect(same.filter((r) => r === 'ok')).toHaveLength(1);
    expect(same.filter((r) => r === 'NetworkAclEntryAlreadyExists')).toHaveLength(24);
    // 30 racing creates of distinct numbers: exactly the 17 remaining slots fill.
    const distinct = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        codeOf(
          client.send(
            new CreateNetworkAclEntryCommand(createInput(20 + i, { CidrBlock: v4(100 + i) })),
          ),
        ),
      ),
    );
    expect(distinct.filter((r) => r === 'ok')).toHaveLength(17);
    expect(distinct.filter((r) => r === 'NetworkAclEntryLimitExceeded')).toHaveLength(13);
    expect(ec2.entries(ACL).filter((e) => !e.egress && !e.cidr.includes(':'))).toHaveLength(20);
  });
});

describe('local EC2 endpoint: wire format', () => {
  it('answers unknown and missing actions with EC2 error XML', async () => {
    const ec2 = await start();
    const unknown = await rawPost(ec2, 'Action=CreateVpc&Version=2016-11-15');
    expect(unknown.status).toBe(400);
    expect(unknown.text).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action CreateVpc is not valid for this web service\.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
    const missing = await rawPost(ec2, 'Version=2016-11-15');
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('<Code>MissingAction</Code>');
    expect(ec2.stats.requests.CreateVpc).toBe(1);
  });

  it('answers mutations with <return>true</return>', async () => {
    const ec2 = await start();
    const res = await rawPost(
      ec2,
      `Action=CreateNetworkAclEntry&Version=2016-11-15&NetworkAclId=${ACL}&RuleNumber=1&Protocol=-1&RuleAction=deny&Egress=false&CidrBlock=192.0.2.1%2F32`,
    );
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /<CreateNetworkAclEntryResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><return>true<\/return><\/CreateNetworkAclEntryResponse>$/,
    );
  });

  it('escapes text in XML so the SDK reads it back verbatim', async () => {
    const ec2 = await start();
    const name = `a<b>&"c'`;
    const error = await ec2
      .client()
      .send(new DescribeNetworkAclsCommand({ Filters: [{ Name: name, Values: ['x'] }] }))
      .catch((e: Error) => e);
    expect((error as Error).message).toBe(`The filter '${name}' is invalid`);
  });

  it('rejects invalid ACL specs with every problem and where it is', async () => {
    const error = await startLocalEc2({
      acls: [
        { naclId: 'nacl-1', entries: [deny(0, '192.0.2.1/32'), deny(5, 'nope')] },
        { naclId: 'acl-2', entries: [deny(5, '192.0.2.1/32'), deny(5, '192.0.2.2/32')] },
      ],
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "acls[0].naclId: 'nacl-1' is not an ACL id like acl-0123abcd",
      'acls[0].entries[0].ruleNumber: 0 is outside 1-32766',
      "acls[0].entries[1].cidr: 'nope' is not a CIDR",
      'acls[1].entries[1]: rule 5 is used twice in that direction',
    ]);
  });
});

describe('local EC2 endpoint: fault injection', () => {
  it('throttles every mutation at rate 1 with RequestLimitExceeded (HTTP 503), leaving describes alone', async () => {
    const ec2 = await start({ faults: { throttleRate: 1 } });
    const client = ec2.client();
    const error = await client
      .send(new CreateNetworkAclEntryCommand(createInput(1, { CidrBlock: '192.0.2.1/32' })))
      .catch((e: Error) => e);
    expect((error as Error).name).toBe('RequestLimitExceeded');
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(503);
    expect(await codeOf(client.send(new DescribeNetworkAclsCommand({})))).toBe('ok');
    expect(ec2.stats.throttled).toBe(1);
    expect(ec2.entries(ACL).some((e) => e.ruleNumber === 1)).toBe(false);
  });

  it('throttles a seeded fraction deterministically; the SDK retries throttled calls', async () => {
    const ec2 = await start();
    const client = ec2.client();
    const run = async () => {
      const outcomes: string[] = [];
      for (let n = 1; n <= 200; n++) {
        outcomes.push(
          await codeOf(
            client.send(
              new ReplaceNetworkAclEntryCommand({
                ...createInput(100, { CidrBlock: '0.0.0.0/0' }),
                RuleAction: 'allow',
              }),
            ),
          ),
        );
      }
      return outcomes;
    };
    ec2.setFaults({ throttleRate: 0.3, seed: 42 });
    const first = await run();
    ec2.setFaults({ throttleRate: 0.3, seed: 42 });
    const second = await run();
    const throttled = first.filter((r) => r === 'RequestLimitExceeded').length;
    expect(throttled).toBeGreaterThanOrEqual(40);
    expect(throttled).toBeLessThanOrEqual(80);
    expect(first.filter((r) => r !== 'RequestLimitExceeded').every((r) => r === 'ok')).toBe(true);
    expect(second).toEqual(first);
    expect(ec2.stats.throttled).toBe(2 * throttled);

    // With retries (no backoff delay in tests), the SDK absorbs most throttles.
    ec2.setFaults({ throttleRate: 0.3, seed: 7, actions: ['DescribeNetworkAcls'] });
    const retrying = ec2.client({ retryStrategy: new ConfiguredRetryStrategy(5, () => 0) });
    const before = ec2.stats.requests.DescribeNetworkAcls ?? 0;
    for (let i = 0; i < 20; i++) await retrying.send(new DescribeNetworkAclsCommand({}));
    expect((ec2.stats.requests.DescribeNetworkAcls ?? 0) - before).toBeGreaterThan(20);
  });
});

describe('Ec2NetworkAcls against the local endpoint', () => {
  async function adapterFor(options: Partial<LocalEc2Options> = {}) {
    const ec2 = await start(options);
    return { ec2, acls: new Ec2NetworkAcls({ client: ec2.client() }) };
  }

  it('describes ACLs in the order asked, every entry mapped (both families, ports, outbound, default denies)', async () => {
    const other: LocalAclSpec = {
      naclId: 'acl-0b',
      entries: [
        deny(3, '2001:db8::/64', { protocol: '17', portRange: { from: 5060, to: 5061 } }),
        {
          ruleNumber: 4,
          egress: true,
          ruleAction: 'allow',
          protocol: '6',
          cidr: '198.51.100.0/24',
          portRange: { from: 443, to: 443 },
        },
      ],
    };
    const { ec2, acls } = await adapterFor({ acls: [SAMPLE_ACL, other] });

    const result = await acls.describe(['acl-0b', ACL, 'acl-0b']);

    expect(result.map((a) => a.naclId)).toEqual(['acl-0b', ACL, 'acl-0b']);
    const sorted = (entries: readonly NaclEntry[]) =>
      [...entries].sort(
        (a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber,
      );
    expect(sorted(result[0]?.entries ?? [])).toEqual(ec2.entries('acl-0b'));
    expect(sorted(result[1]?.entries ?? [])).toEqual(ec2.entries(ACL));
    expect(result[0]?.entries).toContainEqual(
      deny(3, '2001:db8::/64', { protocol: '17', portRange: { from: 5060, to: 5061 } }),
    );
    expect(result[0]?.entries).toContainEqual({
      ruleNumber: 32768,
      egress: true,
      ruleAction: 'deny',
      protocol: '-1',
      cidr: '::/0',
    });
    expect(result[1]?.entries.find((e) => e.ruleNumber === 100 && !e.egress)).toEqual({
      ruleNumber: 100,
      egress: false,
      ruleAction: 'allow',
      protocol: '-1',
      cidr: '0.0.0.0/0',
    });
    expect(ec2.stats.requests.DescribeNetworkAcls).toBe(1);

    // No ids: no call (an unfiltered DescribeNetworkAcls would list the whole Region).
    expect(await acls.describe([])).toEqual([]);
    expect(ec2.stats.requests.DescribeNetworkAcls).toBe(1);
  });

  it('creates, replaces and deletes entries of both families; describe sees the canonical CIDRs', async () => {
    const { ec2, acls } = await adapterFor();

    await acls.createEntry(ACL, deny(1, '100.68.0.18/18'));
    await acls.createEntry(
      ACL,
      deny(2, '2001:DB8:0::7/128', { protocol: '6', portRange: { from: 5060, to: 5061 } }),
    );
    await acls.createEntry(
      ACL,
      deny(3, '203.0.113.7/32', { protocol: '-1', portRange: { from: 1, to: 2 } }),
    );
    await acls.replaceEntry(
      ACL,
      deny(1, '198.51.100.7/32', { protocol: '17', portRange: { from: 5060, to: 5060 } }),
    );
    await acls.createEntry(ACL, deny(9, '192.0.2.0/24', { egress: true }));
    await acls.deleteEntry(ACL, 9, true);

    const [acl] = await acls.describe([ACL]);
    const band = acl?.entries.filter((e) => e.ruleNumber < 100);
    expect(band).toEqual(
      expect.arrayContaining([
        deny(1, '198.51.100.7/32', { protocol: '17', portRange: { from: 5060, to: 5060 } }),
        deny(2, '2001:db8::7/128', { protocol: '6', portRange: { from: 5060, to: 5061 } }),
        deny(3, '203.0.113.7/32'), // protocol -1 carries no port range
      ]),
    );
    expect(band).toHaveLength(3);
    expect(ec2.stats.requests).toMatchObject({
      CreateNetworkAclEntry: 4,
      ReplaceNetworkAclEntry: 1,
      DeleteNetworkAclEntry: 1,
    });
  });

  it('turns every EC2 error code into the domain error', async () => {
    const { acls } = await adapterFor({ acls: [SAMPLE_ACL, sampleAcl('acl-0b')] });
    await acls.createEntry(ACL, deny(1, '203.0.113.7/32'));

    const notFound = await acls.describe([ACL, 'acl-0dead', 'acl-0b']).catch((e: Error) => e);
    expect(notFound).toBeInstanceOf(NaclNotFoundError);
    expect((notFound as NaclNotFoundError).naclId).toBe('acl-0dead');
    expect((notFound as Error).cause).toMatchObject({ name: 'InvalidNetworkAclID.NotFound' });
    await expect(acls.createEntry('acl-0dead', deny(1, '203.0.113.7/32'))).rejects.toBeInstanceOf(
      NaclNotFoundError,
    );

    const exists = await acls.createEntry(ACL, deny(1, '2001:db8::1/128')).catch((e: Error) => e);
    expect(exists).toBeInstanceOf(NaclEntryExistsError);
    expect(exists).toMatchObject({ naclId: ACL, ruleNumber: 1 });

    await expect(acls.replaceEntry(ACL, deny(2, '203.0.113.8/32'))).rejects.toBeInstanceOf(
      NaclEntryNotFoundError,
    );
    const missing = await acls.deleteEntry(ACL, 1, true).catch((e: Error) => e);
    expect(missing).toBeInstanceOf(NaclEntryNotFoundError);
    expect(missing).toMatchObject({ naclId: ACL, ruleNumber: 1 });

    for (const bad of [
      () => acls.createEntry(ACL, deny(0, '203.0.113.9/32')),
      () => acls.createEntry(ACL, deny(32767, '203.0.113.9/32')),
      () => acls.deleteEntry(ACL, 32768, false),
      () => acls.createEntry(ACL, deny(5, '203.0.113.9/32', { protocol: 'bogus' })),
      () => acls.createEntry(ACL, deny(5, '203.0.113.9/32', { protocol: '6' })), // tcp needs ports
      () => acls.createEntry(ACL, deny(5, 'not-a-cidr')),
    ]) {
      const error = await bad().catch((e: Error) => e);
      expect(error).toBeInstanceOf(NaclEntryInvalidError);
    }
    const invalid = await acls.createEntry(ACL, deny(0, '203.0.113.9/32')).catch((e: Error) => e);
    expect((invalid as Error).message).toContain('(InvalidParameterValue)');
    expect((invalid as Error).message).toContain(ACL);
  });

  it('reports the quota: with quota 20 and an allow rule per family, 18 denies fit, the 19th is NaclEntryLimitError', async () => {
    const { ec2, acls } = await adapterFor({ ruleQuota: 20 });
    for (let n = 1; n <= 18; n++) await acls.createEntry(ACL, deny(n, v4(n)));
    const error = await acls.createEntry(ACL, deny(19, v4(19))).catch((e: Error) => e);
    expect(error).toBeInstanceOf(NaclEntryLimitError);
    expect((error as NaclEntryLimitError).naclId).toBe(ACL);
    // The IPv6 set and the outbound set are counted on their own.
    await acls.createEntry(ACL, deny(19, '2001:db8::/48'));
    await acls.createEntry(ACL, deny(20, v4(20), { egress: true }));
    expect(ec2.entries(ACL)).toHaveLength(8 + 18 + 2);
  });

  it('throttling: Ec2ThrottledError after the SDK retries, ~30% at a seeded 0.3 rate', async () => {
    const ec2 = await start({ faults: { throttleRate: 1 } });
    const once = new Ec2NetworkAcls({ client: ec2.client() });
    const error = await once.createEntry(ACL, deny(1, '203.0.113.7/32')).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Ec2ThrottledError);
    expect((error as Error).message).toContain('CreateNetworkAclEntry');
    expect((error as Error).cause).toMatchObject({ name: 'RequestLimitExceeded' });

    // The SDK's own retries run first (zero backoff here, to keep the test fast).
    const retrying = new Ec2NetworkAcls({
      client: ec2.client({ retryStrategy: new ConfiguredRetryStrategy(3, () => 0) }),
    });
    const before = ec2.stats.requests.DeleteNetworkAclEntry ?? 0;
    await expect(retrying.deleteEntry(ACL, 100, false)).rejects.toBeInstanceOf(Ec2ThrottledError);
    expect((ec2.stats.requests.DeleteNetworkAclEntry ?? 0) - before).toBe(3);

    ec2.setFaults({ throttleRate: 0.3, seed: 2026 });
    let throttled = 0;
    for (let i = 0; i < 200; i++) {
      const entry = { ...deny(100, '0.0.0.0/0'), ruleAction: 'allow' as const };
      const e = await once.replaceEntry(ACL, entry).catch((err: Error) => err);
      if (e instanceof Ec2ThrottledError) throttled++;
      else expect(e).toBeUndefined();
    }
    expect(throttled).toBeGreaterThanOrEqual(40);
    expect(throttled).toBeLessThanOrEqual(80);
  });

  it('createEc2Client honours AWS_ENDPOINT_URL_EC2 (and AWS_ENDPOINT_URL) without an explicit endpoint', async () => {
    const ec2 = await start();
    const other = await startLocalEc2({ acls: [sampleAcl('acl-0other')] });
    running.push(other);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', '');
    vi.stubEnv('AWS_ENDPOINT_URL', other.endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', ec2.endpoint);

    const client = createEc2Client({ maxAttempts: 1 });
    const [acl] = await new Ec2NetworkAcls({ client }).describe([ACL]);
    client.destroy();

    expect(acl?.entries.length).toBe(8);
    expect(ec2.stats.requests.DescribeNetworkAcls).toBe(1);
    expect(other.stats.requests.DescribeNetworkAcls).toBeUndefined();

    // Without the EC2-specific variable, the generic one applies.
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', '');
    const generic = createEc2Client({ maxAttempts: 1 });
    const [found] = await new Ec2NetworkAcls({ client: generic }).describe(['acl-0other']);
    generic.destroy();
    expect(found?.naclId).toBe('acl-0other');
    expect(other.stats.requests.DescribeNetworkAcls).toBe(1);
  });
});
