/**
 * Ec2NetworkAcls edge cases that the local endpoint never produces, with aws-sdk-client-mock:
 * pagination, entries missing optional fields, malformed entries, unexpected errors.
 */
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  EC2Client,
  EC2ServiceException,
  ReplaceNetworkAclEntryCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2NetworkAcls } from '../../../lambda/adapters/ec2-network-acls.js';
import { Ec2ThrottledError, NaclNotFoundError } from '../../../lambda/core/errors.js';

const ec2Mock = mockClient(EC2Client);

afterEach(() => {
  ec2Mock.reset();
});

function adapter(): Ec2NetworkAcls {
  return new Ec2NetworkAcls({ client: new EC2Client({ region: 'us-east-1' }) });
}

function sdkError(name: string, message = name): EC2ServiceException {
  return new EC2ServiceException({
    name,
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('Class: Ec2NetworkAcls', () => {
  it('follows NextToken until the last page and merges an ACL split across pages', async () => {
    // Prepare
    ec2Mock
      .on(DescribeNetworkAclsCommand)
      .resolvesOnce({
        NetworkAcls: [
          {
            NetworkAclId: 'acl-1',
            Entries: [
              {
                RuleNumber: 1,
                Egress: false,
                RuleAction: 'deny',
                Protocol: '-1',
                CidrBlock: '203.0.113.7/32',
              },
            ],
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        NetworkAcls: [
          {
            NetworkAclId: 'acl-2',
            Entries: [
              {
                RuleNumber: 2,
                Egress: true,
                RuleAction: 'allow',
                Protocol: '6',
                CidrBlock: '0.0.0.0/0',
                PortRange: { From: 443, To: 443 },
              },
            ],
          },
        ],
        NextToken: 'page-3',
      })
      .resolvesOnce({
        NetworkAcls: [
          {
            NetworkAclId: 'acl-1',
            Entries: [
              {
                RuleNumber: 3,
                Egress: false,
                RuleAction: 'deny',
                Protocol: '17',
                Ipv6CidrBlock: '2001:DB8::1/64',
                PortRange: { From: 5060, To: 5061 },
              },
            ],
          },
        ],
      });

    // Act
    const result = await adapter().describe(['acl-2', 'acl-1']);

    // Assess
    const calls = ec2Mock.commandCalls(DescribeNetworkAclsCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { NetworkAclIds: ['acl-2', 'acl-1'], NextToken: undefined },
      { NetworkAclIds: ['acl-2', 'acl-1'], NextToken: 'page-2' },
      { NetworkAclIds: ['acl-2', 'acl-1'], NextToken: 'page-3' },
    ]);
    expect(result).toEqual([
      {
        naclId: 'acl-2',
        entries: [
          {
            ruleNumber: 2,
            egress: true,
            ruleAction: 'allow',
            protocol: '6',
            cidr: '0.0.0.0/0',
            portRange: { from: 443, to: 443 },
          },
        ],
      },
      {
        naclId: 'acl-1',
        entries: [
          {
            ruleNumber: 1,
            egress: false,
            ruleAction: 'deny',
            protocol: '-1',
            cidr: '203.0.113.7/32',
          },
          {
            ruleNumber: 3,
            egress: false,
            ruleAction: 'deny',
            protocol: '17',
            cidr: '2001:db8::/64',
            portRange: { from: 5060, to: 5061 },
          },
        ],
      },
    ]);
  });

  it('maps entries without optional fields: no PortRange, half a PortRange, no Entries, no Associations', async () => {
    ec2Mock.on(DescribeNetworkAclsCommand).resolves({
      NetworkAcls: [
        {
          NetworkAclId: 'acl-1',
          Entries: [
            {
              RuleNumber: 7,
              Egress: false,
              RuleAction: 'deny',
              Protocol: '6',
              CidrBlock: '198.51.100.9/24',
            },
            {
              RuleNumber: 8,
              Egress: false,
              RuleAction: 'deny',
              Protocol: '6',
              CidrBlock: '198.51.100.0/24',
              PortRange: { From: 5060 },
            },
            {
              RuleNumber: 9,
              Egress: false,
              RuleAction: 'deny',
              Protocol: '1',
              CidrBlock: '192.0.2.0/24',
              IcmpTypeCode: { Code: -1, Type: -1 },
            },
          ],
        },
        { NetworkAclId: 'acl-2' },
      ],
      NextToken: '',
    });

    const [one, two] = await adapter().describe(['acl-1', 'acl-2']);

    expect(one?.entries).toEqual([
      { ruleNumber: 7, egress: false, ruleAction: 'deny', protocol: '6', cidr: '198.51.100.0/24' },
      { ruleNumber: 8, egress: false, ruleAction: 'deny', protocol: '6', cidr: '198.51.100.0/24' },
      { ruleNumber: 9, egress: false, ruleAction: 'deny', protocol: '1', cidr: '192.0.2.0/24' },
    ]);
    expect(one?.entries[0]).not.toHaveProperty('portRange');
    expect(two).toEqual({ naclId: 'acl-2', entries: [] });
    // An empty NextToken ends the listing.
    expect(ec2Mock.commandCalls(DescribeNetworkAclsCommand)).toHaveLength(1);
  });

  it('rejects entries missing what the enforcer cannot guess, naming the ACL and rule', async () => {
    const cases = [
      [
        { Egress: false, RuleAction: 'deny', Protocol: '-1', CidrBlock: '192.0.2.0/24' },
        'entry ? has no RuleNumber',
      ],
      [
        { RuleNumber: 4, RuleAction: 'deny', Protocol: '-1', CidrBlock: '192.0.2.0/24' },
        'entry 4 has no Egress',
      ],
      [
        { RuleNumber: 4, Egress: false, Protocol: '-1', CidrBlock: '192.0.2.0/24' },
        'entry 4 has RuleAction undefined',
      ],
      [
        { RuleNumber: 4, Egress: false, RuleAction: 'deny', CidrBlock: '192.0.2.0/24' },
        'entry 4 has no Protocol',
      ],
      [
        { RuleNumber: 4, Egress: false, RuleAction: 'deny', Protocol: '-1' },
        'entry 4 has no valid CidrBlock',
      ],
      [
        {
          RuleNumber: 4,
          Egress: false,
          RuleAction: 'deny',
          Protocol: '-1',
          CidrBlock: '999.0.0.0/8',
        },
        'entry 4 has no valid CidrBlock',
      ],
    ] as const;
    for (const [entry, message] of cases) {
      ec2Mock.reset();
      ec2Mock
        .on(DescribeNetworkAclsCommand)
        .resolves({ NetworkAcls: [{ NetworkAclId: 'acl-9', Entries: [entry] }] });
      await expect(adapter().describe(['acl-9'])).rejects.toThrow(
        `DescribeNetworkAcls: acl-9 ${message}`,
      );
    }
  });

  it('throws NaclNotFoundError when EC2 leaves an asked ACL out', async () => {
    ec2Mock
      .on(DescribeNetworkAclsCommand)
      .resolves({ NetworkAcls: [{ NetworkAclId: 'acl-1', Entries: [] }] });
    const error = await adapter()
      .describe(['acl-1', 'acl-2'])
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(NaclNotFoundError);
    expect((error as NaclNotFoundError).naclId).toBe('acl-2');
  });

  it('sends CidrBlock or Ipv6CidrBlock by family, PortRange only with a protocol that has ports', async () => {
    ec2Mock.on(CreateNetworkAclEntryCommand).resolves({});
    ec2Mock.on(ReplaceNetworkAclEntryCommand).resolves({});
    const acls = adapter();

    await acls.createEntry('acl-1', {
      ruleNumber: 1,
      egress: false,
      ruleAction: 'deny',
      protocol: '17',
      cidr: '2001:db8::7/128',
      portRange: { from: 5060, to: 5061 },
    });
    await acls.replaceEntry('acl-1', {
      ruleNumber: 2,
      egress: true,
      ruleAction: 'deny',
      protocol: '-1',
      cidr: '203.0.113.7/24',
      portRange: { from: 1, to: 2 },
    });

    expect(ec2Mock.commandCalls(CreateNetworkAclEntryCommand)[0]?.args[0].input).toEqual({
      NetworkAclId: 'acl-1',
      RuleNumber: 1,
      Protocol: '17',
      RuleAction: 'deny',
      Egress: false,
      Ipv6CidrBlock: '2001:db8::7/128',
      PortRange: { From: 5060, To: 5061 },
    });
    expect(ec2Mock.commandCalls(ReplaceNetworkAclEntryCommand)[0]?.args[0].input).toEqual({
      NetworkAclId: 'acl-1',
      RuleNumber: 2,
      Protocol: '-1',
      RuleAction: 'deny',
      Egress: true,
      CidrBlock: '203.0.113.0/24',
    });
  });

  it('lets an unexpected SDK error propagate unchanged', async () => {
    const unauthorized = sdkError(
      'UnauthorizedOperation',
      'You are not authorized to perform this operation.',
    );
    ec2Mock.on(DeleteNetworkAclEntryCommand).rejects(unauthorized);
    ec2Mock.on(DescribeNetworkAclsCommand).rejects(sdkError('InvalidParameterValue'));
    const network = new TypeError('fetch failed');
    ec2Mock.on(CreateNetworkAclEntryCommand).rejects(network);
    const acls = adapter();

    await expect(acls.deleteEntry('acl-1', 5, false)).rejects.toBe(unauthorized);
    await expect(
      acls.createEntry('acl-1', {
        ruleNumber: 1,
        egress: false,
        ruleAction: 'deny',
        protocol: '-1',
        cidr: '192.0.2.1/32',
      }),
    ).rejects.toBe(network);
    // InvalidParameterValue on a describe is not about an entry: unchanged too.
    await expect(acls.describe(['acl-1'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('treats any throttling code as Ec2ThrottledError, keeping the SDK error as cause', async () => {
    const throttled = sdkError('RequestLimitExceeded', 'Request limit exceeded.');
    ec2Mock.on(ReplaceNetworkAclEntryCommand).rejects(throttled);
    const error = await adapter()
      .replaceEntry('acl-1', {
        ruleNumber: 1,
        egress: false,
        ruleAction: 'deny',
        protocol: '-1',
        cidr: '192.0.2.1/32',
      })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Ec2ThrottledError);
    expect((error as Error).cause).toBe(throttled);
    expect((error as Error).message).toBe(
      'EC2 throttled ReplaceNetworkAclEntry (RequestLimitExceeded)',
    );
  });
});
