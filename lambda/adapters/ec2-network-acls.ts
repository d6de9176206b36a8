/**
 * NetworkAclPort on EC2 network ACL entries, with the real `@aws-sdk/client-ec2`.
 *
 * The client is injected ready-made (Powertools adapter style): the composition root builds it with
 * {@link createEc2Client}, which leaves the endpoint to the SDK's standard settings, so
 * `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL` (or `endpoint_url` in the shared config) point it at
 * the local endpoint (local/ec2-endpoint.ts) in tests and the embedded demo.
 *
 * SDK errors become the domain's (core/errors.ts) by their EC2 code; the SDK's own retries
 * (standard mode, throttling backoff) run first, so an Ec2ThrottledError means EC2 kept throttling
 * through every attempt. Anything unexpected propagates unchanged.
 */
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  type DescribeNetworkAclsCommandOutput,
  EC2Client,
  type EC2ClientConfig,
  ReplaceNetworkAclEntryCommand,
  type NetworkAclEntry as SdkEntry,
} from '@aws-sdk/client-ec2';
import {
  Ec2ThrottledError,
  NaclEntryExistsError,
  NaclEntryInvalidError,
  NaclEntryLimitError,
  NaclEntryNotFoundError,
  NaclNotFoundError,
} from '../core/errors.js';
import { parseCidr } from '../core/ip-address.js';
import type { NaclEntry, NetworkAcl, NetworkAclPort } from '../ports/network-acls.js';

export interface Ec2NetworkAclsOptions {
  /** A ready EC2 client (see {@link createEc2Client}). */
  readonly client: EC2Client;
}

/**
 * The EC2 client for the composition root. No endpoint is set here, so the SDK resolves it from
 * `AWS_ENDPOINT_URL_EC2`, then `AWS_ENDPOINT_URL`, then the shared config, then the Region's
 * standard endpoint. Retries are the SDK's standard mode (3 attempts) unless `config` says otherwise.
 */
export function createEc2Client(config: EC2ClientConfig = {}): EC2Client {
  return new EC2Client(config);
}

/** EC2 error codes with a domain meaning. */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
]);
const INVALID_ENTRY_CODES: ReadonlySet<string> = new Set([
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidParameter',
]);

export class Ec2NetworkAcls implements NetworkAclPort {
  readonly #client: EC2Client;

  constructor(options: Ec2NetworkAclsOptions) {
    this.#client = options.client;
  }

  async describe(naclIds: readonly string[]): Promise<readonly NetworkAcl[]> {
    // An empty id list would make DescribeNetworkAcls return every ACL of the Region.
    if (naclIds.length === 0) return [];
    const unique = [...new Set(naclIds)];
    const found = new Map<string, NaclEntry[]>();
    let nextToken: string | undefined;
    do {
      let page: DescribeNetworkAclsCommandOutput;
      try {
        page = await this.#client.send(
          new DescribeNetworkAclsCommand({ NetworkAclIds: unique, NextToken: nextToken }),
        );
      } catch (error) {
        throw translate(error, 'DescribeNetworkAcls', naclIdIn(error, unique));
      }
      for (const acl of page.NetworkAcls ?? []) {
        const id = acl.NetworkAclId;
        if (!id) throw new Error('DescribeNetworkAcls returned a network ACL without NetworkAclId');
        const entries = found.get(id) ?? [];
        for (const entry of acl.Entries ?? []) entries.push(toNaclEntry(id, entry));
        found.set(id, entries);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return naclIds.map((naclId) => {
      const entries = found.get(naclId);
      if (!entries) throw new NaclNotFoundError(naclId);
      return { naclId, entries };
    });
  }

  async createEntry(naclId: string, entry: NaclEntry): Promise<void> {
    const input = entryInput(naclId, entry);
    try {
      await this.#client.send(new CreateNetworkAclEntryCommand(input));
    } catch (error) {
      throw translate(error, 'CreateNetworkAclEntry', naclId, entry.ruleNumber);
    }
  }

  async replaceEntry(naclId: string, entry: NaclEntry): Promise<void> {
    const input = entryInput(naclId, entry);
    try {
      await this.#client.send(new ReplaceNetworkAclEntryCommand(input));
    } catch (error) {
      throw translate(error, 'ReplaceNetworkAclEntry', naclId, entry.ruleNumber);
    }
  }

  async deleteEntry(naclId: string, ruleNumber: number, egress: boolean): Promise<void> {
    try {
      await this.#client.send(
        new DeleteNetworkAclEntryCommand({
          NetworkAclId: naclId,
          RuleNumber: ruleNumber,
          Egress: egress,
        }),
      );
    } catch (error) {
      throw translate(error, 'DeleteNetworkAclEntry', naclId, ruleNumber);
    }
  }
}

function entryInput(naclId: string, entry: NaclEntry) {
  const cidr = parseCidr(entry.cidr);
  if (!cidr || !entry.cidr.includes('/')) {
    throw new NaclEntryInvalidError(naclId, entry.ruleNumber, `'${entry.cidr}' is not a CIDR`);
  }
  return {
    NetworkAclId: naclId,
    RuleNumber: entry.ruleNumber,
    Protocol: entry.protocol,
    RuleAction: entry.ruleAction,
    Egress: entry.egress,
    ...(cidr.family === 4 ? { CidrBlock: cidr.text } : { Ipv6CidrBlock: cidr.text }),
    ...(entry.portRange && entry.protocol !== '-1'
      ? { PortRange: { From: entry.portRange.from, To: entry.portRange.to } }
      : {}),
  };
}

function toNaclEntry(naclId: string, entry: SdkEntry): NaclEntry {
  const where = `DescribeNetworkAcls: ${naclId} entry ${entry.RuleNumber ?? '?'}`;
  if (entry.RuleNumber === undefined) throw new Error(`${where} has no RuleNumber`);
  if (entry.Egress === undefined) throw new Error(`${where} has no Egress`);
  if (entry.RuleAction !== 'allow' && entry.RuleAction !== 'deny') {
    throw new Error(`${where} has RuleAction ${String(entry.RuleAction)}, not allow or deny`);
  }
  if (entry.Protocol === undefined) throw new Error(`${where} has no Protocol`);
  const text = entry.CidrBlock ?? entry.Ipv6CidrBlock;
  const cidr = text === undefined ? undefined : parseCidr(text);
  if (!cidr) throw new Error(`${where} has no valid CidrBlock or Ipv6CidrBlock (${String(text)})`);
  const from = entry.PortRange?.From;
  const to = entry.PortRange?.To;
  return {
    ruleNumber: entry.RuleNumber,
    egress: entry.Egress,
    ruleAction: entry.RuleAction,
    protocol: entry.Protocol,
    cidr: cidr.text,
    ...(from !== undefined && to !== undefined ? { portRange: { from, to } } : {}),
  };
}

/** The ACL id a describe error names (EC2 quotes it in the message), else all of them. */
function naclIdIn(error: unknown, naclIds: readonly string[]): string {
  const message = error instanceof Error ? error.message : '';
  return naclIds.find((id) => message.includes(`'${id}'`)) ?? naclIds.join(', ');
}

function translate(error: unknown, action: string, naclId: string, ruleNumber = 0): unknown {
  if (!(error instanceof Error)) return error;
  const code = error.name;
  if (THROTTLING_CODES.has(code)) return new Ec2ThrottledError(action, { cause: error });
  switch (code) {
    case 'InvalidNetworkAclID.NotFound':
      return withCause(new NaclNotFoundError(naclId), error);
    case 'NetworkAclEntryAlreadyExists':
      return withCause(new NaclEntryExistsError(naclId, ruleNumber), error);
    case 'InvalidNetworkAclEntry.NotFound':
      return withCause(new NaclEntryNotFoundError(naclId, ruleNumber), error);
    case 'NetworkAclEntryLimitExceeded':
      return withCause(new NaclEntryLimitError(naclId), error);
  }
  if (INVALID_ENTRY_CODES.has(code) && action !== 'DescribeNetworkAcls') {
    return new NaclEntryInvalidError(naclId, ruleNumber, `${error.message} (${code})`, {
      cause: error,
    });
  }
  return error;
}

/** The domain errors' constructors take no options; attach the SDK error as `cause` afterwards. */
function withCause<E extends Error>(domain: E, cause: Error): E {
  Object.defineProperty(domain, 'cause', { value: cause, configurable: true, writable: true });
  return domain;
}
