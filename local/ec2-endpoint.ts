/**
 * A local EC2 endpoint for network ACLs: a small `node:http` server on 127.0.0.1 that speaks the EC2
 * Query API (form-encoded POST, `Version=2016-11-15`, XML responses) for `DescribeNetworkAcls`,
 * `CreateNetworkAclEntry`, `ReplaceNetworkAclEntry` and `DeleteNetworkAclEntry`. Tests, benchmarks
 * and the embedded `npm start` demo point the real `@aws-sdk/client-ec2` at it, so the adapter's
 * serialisation, XML parsing, error classification and retries are the SDK's own.
 *
 * It behaves like EC2 where cloudjail depends on it:
 * - every ACL carries the default denies 32767 (IPv4 `0.0.0.0/0`) and 32768 (IPv6 `::/0`) in each
 *   direction; users can only use rule numbers 1-32766 (`InvalidParameterValue` otherwise);
 * - rule numbers are unique per direction across both families (`NetworkAclEntryAlreadyExists`);
 * - the rule quota counts per ACL, per direction, per IP family, the default deny included
 *   (`NetworkAclEntryLimitExceeded`; default 20 as in AWS); a replace that moves a rule to the other
 *   family needs a free slot in that family;
 * - CIDRs are stored in canonical form (`100.68.0.18/18` → `100.68.0.0/18`);
 * - errors use EC2's codes and XML (`<Response><Errors><Error>…`), HTTP 400, except
 *   `RequestLimitExceeded` (HTTP 503, as EC2 sends it; the SDK classifies it as throttling by code);
 * - fault injection throttles a seeded, deterministic fraction of the chosen actions.
 *
 * The XML uses the element names the SDK's EC2 schema reads (`networkAclSet`, `entrySet`,
 * `associationSet`, `tagSet`, `default` — not `isDefault` —, `portRange/from|to`, `nextToken`); the
 * integration test round-trips every one of them through `@aws-sdk/client-ec2`.
 *
 * A request is applied synchronously once its body has arrived, so concurrent requests from one or
 * many clients each see and leave a consistent state (per-request atomicity).
 *
 * Not modelled: authentication (signatures are not checked), eventual consistency, ICMP type/code,
 * tags, ACL creation/association APIs.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { ConfigError } from '../lambda/core/errors.js';
import { parseCidr } from '../lambda/core/ip-address.js';
import { seededRandom } from '../lambda/core/seeded-random.js';
import type { NaclEntry } from '../lambda/ports/network-acls.js';
import { closeServer, LOCAL_CREDENTIALS, listenOnLoopback } from './loopback-server.js';

export interface LocalAclSpec {
  readonly naclId: string;
  readonly vpcId?: string;
  readonly subnetIds?: readonly string[];
  /** User entries (rule numbers 1-32766); the four default denies are added. */
  readonly entries?: readonly NaclEntry[];
}

export interface FaultOptions {
  /** Fraction of matching requests answered with RequestLimitExceeded, 0..1. @default 0 */
  readonly throttleRate?: number;
  /** Seed of the deterministic PRNG that picks the throttled requests. @default 1 */
  readonly seed?: number;
  /** Actions subject to faults. @default the three entry mutations */
  readonly actions?: readonly string[];
}

export interface LocalEc2Options {
  readonly acls: readonly LocalAclSpec[];
  /** Rules per ACL, per direction, per IP family, default deny included. @default 20 */
  readonly ruleQuota?: number;
  readonly faults?: FaultOptions;
  /** TCP port on 127.0.0.1. @default 0 (ephemeral) */
  readonly port?: number;
  /** Region the clients sign for. @default 'us-east-1' */
  readonly region?: string;
}

export interface LocalEc2Stats {
  /** Requests received per action (throttled ones included, unknown actions under their name). */
  readonly requests: Readonly<Record<string, number>>;
  /** Requests answered with an injected RequestLimitExceeded. */
  readonly throttled: number;
}

export interface LocalEc2 {
  readonly endpoint: string;
  readonly region: string;
  /** A real EC2 client for this endpoint: dummy credentials, `maxAttempts` 1 unless given. */
  client(config?: Partial<EC2ClientConfig>): EC2Client;
  /** Replaces the fault settings (and reseeds the PRNG). */
  setFaults(faults: FaultOptions): void;
  /** Snapshot of an ACL's entries, default denies included, sorted by egress then rule number. */
  entries(naclId: string): NaclEntry[];
  /** Live counters. */
  readonly stats: LocalEc2Stats;
  stop(): Promise<void>;
}

/** The default rule quota of AWS (rules per ACL, per direction, per family, default deny included). */
export const DEFAULT_RULE_QUOTA = 20;

export const DEFAULT_DENY_IPV4 = 32767;
export const DEFAULT_DENY_IPV6 = 32768;

/** The mutating actions; faults apply to these unless `FaultOptions.actions` says otherwise. */
export const MUTATING_ACTIONS: readonly string[] = [
  'CreateNetworkAclEntry',
  'ReplaceNetworkAclEntry',
  'DeleteNetworkAclEntry',
];

export { SAMPLE_ACL, sampleAcl } from './sample-acl.js';

const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const MAX_BODY_BYTES = 1024 * 1024;

interface AclState {
  readonly naclId: string;
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  /** Key `${egress ? 'e' : 'i'}:${ruleNumber}`. */
  readonly entries: Map<string, NaclEntry>;
}

/** An EC2 error response. */
class Ec2Fault {
  constructor(
    readonly code: string,
    readonly message: string,
    readonly status = 400,
  ) {}
}

type Params = URLSearchParams;

export async function startLocalEc2(options: LocalEc2Options): Promise<LocalEc2> {
  const ruleQuota = options.ruleQuota ?? DEFAULT_RULE_QUOTA;
  if (!Number.isInteger(ruleQuota) || ruleQuota < 1) {
    throw new ConfigError([`ruleQuota: must be a positive integer, got ${ruleQuota}`], 'local EC2');
  }
  const region = options.region ?? 'us-east-1';
  const acls = buildAcls(options.acls, ruleQuota);
  const requests: Record<string, number> = {};
  const stats = { requests, throttled: 0 };
  let faults = checkFaults(options.faults ?? {});
  let random = seededRandom(faults.seed ?? 1);

  const handle = (action: string, params: Params): string => {
    if (faults.throttleRate && (faults.actions ?? MUTATING_ACTIONS).includes(action)) {
      if (random() < faults.throttleRate) {
        stats.throttled++;
        throw new Ec2Fault('RequestLimitExceeded', 'Request limit exceeded.', 503);
      }
    }
    switch (action) {
      case 'DescribeNetworkAcls':
        return describeNetworkAcls(acls, params);
      case 'CreateNetworkAclEntry':
        return mutateEntry(acls, ruleQuota, action, params, 'create');
      case 'ReplaceNetworkAclEntry':
        return mutateEntry(acls, ruleQuota, action, params, 'replace');
      case 'DeleteNetworkAclEntry':
        return deleteEntry(acls, params);
      default:
        throw new Ec2Fault(
          'InvalidAction',
          `The action ${action} is not valid for this web service.`,
        );
    }
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const params = new URLSearchParams(body);
        for (const [k, v] of new URL(req.url ?? '/', 'http://localhost').searchParams) {
          if (!params.has(k)) params.append(k, v);
        }
        const action = params.get('Action');
        if (!action) {
          throw new Ec2Fault('MissingAction', 'The request must contain the parameter Action.');
        }
        requests[action] = (requests[action] ?? 0) + 1;
        if (params.get('DryRun') === 'true') {
          throw new Ec2Fault(
            'DryRunOperation',
            'Request would have succeeded, but DryRun flag is set.',
            412,
          );
        }
        send(res, 200, handle(action, params));
      })
      .catch((error: unknown) => {
        const fault =
          error instanceof Ec2Fault
            ? error
            : new Ec2Fault('InternalError', `internal error: ${String(error)}`, 500);
        send(res, fault.status, errorXml(fault));
      });
  });

  const endpoint = await listenOnLoopback(server, options.port ?? 0);
  const clients: EC2Client[] = [];

  return {
    endpoint,
    region,
    client(config = {}) {
      const client = new EC2Client({
        region,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
        ...config,
        endpoint,
      });
      clients.push(client);
      return client;
    },
    setFaults(next) {
      faults = checkFaults(next);
      random = seededRandom(faults.seed ?? 1);
    },
    entries(naclId) {
      const acl = acls.get(naclId);
      if (!acl) throw new Error(`local EC2: no network ACL ${naclId}`);
      return [...acl.entries.values()]
        .sort((a, b) => Number(a.egress) - Number(b.egress) || a.ruleNumber - b.ruleNumber)
        .map((e) => ({ ...e }));
    },
    stats,
    async stop() {
      for (const c of clients) c.destroy();
      await closeServer(server);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Actions

function describeNetworkAcls(acls: ReadonlyMap<string, AclState>, params: Params): string {
  const ids = list(params, 'NetworkAclId');
  for (const id of ids) {
    if (!acls.has(id)) throw notFoundAcl(id);
  }
  const filters = readFilters(params);
  let selected = ids.length
    ? [...new Set(ids)].map((id) => acls.get(id) as AclState)
    : [...acls.values()];
  selected = selected.filter((acl) => filters.every((f) => f.matches(acl)));

  const maxText = params.get('MaxResults');
  let start = 0;
  let end = selected.length;
  if (maxText !== null) {
    const max = Number(maxText);
    if (!Number.isInteger(max) || max < 5 || max > 100) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        `Value (${maxText}) for parameter maxResults is invalid. Expecting a value between 5 and 100.`,
      );
    }
    const token = params.get('NextToken');
    if (token !== null) start = decodeToken(token, selected.length);
    end = Math.min(selected.length, start + max);
  } else if (params.get('NextToken') !== null) {
    start = decodeToken(params.get('NextToken') as string, selected.length);
  }
  const page = selected.slice(start, end);
  const next = end < selected.length ? `<nextToken>${encodeToken(end)}</nextToken>` : '';
  return (
    `<DescribeNetworkAclsResponse xmlns="${XMLNS}"><requestId>${randomUUID()}</requestId>` +
    `<networkAclSet>${page.map(aclXml).join('')}</networkAclSet>${next}` +
    '</DescribeNetworkAclsResponse>'
  );
}

function mutateEntry(
  acls: ReadonlyMap<string, AclState>,
  ruleQuota: number,
  action: string,
  params: Params,
  mode: 'create' | 'replace',
): string {
  const acl = aclOf(acls, params);
  const entry = readEntry(params);
  const key = entryKey(entry.egress, entry.ruleNumber);
  const existing = acl.entries.get(key);
  if (mode === 'create' && existing) {
    throw new Ec2Fault(
      'NetworkAclEntryAlreadyExists',
      `The network acl entry identified by ${entry.ruleNumber} already exists.`,
    );
  }
  if (mode === 'replace' && !existing) throw notFoundEntry(acl.naclId, entry);
  const family = familyOf(entry.cidr);
  if (!existing || familyOf(existing.cidr) !== family) {
    const used = [...acl.entries.values()].filter(
      (e) => e.egress === entry.egress && familyOf(e.cidr) === family,
    ).length;
    if (used >= ruleQuota) {
      throw new Ec2Fault(
        'NetworkAclEntryLimitExceeded',
        `The maximum number of network acl entries has been reached.`,
      );
    }
  }
  acl.entries.set(key, entry);
  return okXml(action);
}

function deleteEntry(acls: ReadonlyMap<string, AclState>, params: Params): string {
  const acl = aclOf(acls, params);
  const ruleNumber = readRuleNumber(params);
  const egress = readBoolean(params, 'Egress');
  const key = entryKey(egress, ruleNumber);
  if (!acl.entries.has(key)) throw notFoundEntry(acl.naclId, { ruleNumber, egress });
  acl.entries.delete(key);
  return okXml('DeleteNetworkAclEntry');
}

// ---------------------------------------------------------------------------------------------
// Parameters

function aclOf(acls: ReadonlyMap<string, AclState>, params: Params): AclState {
  const id = required(params, 'NetworkAclId');
  const acl = acls.get(id);
  if (!acl) throw notFoundAcl(id);
  return acl;
}

function readEntry(params: Params): NaclEntry {
  const ruleNumber = readRuleNumber(params);
  const egress = readBoolean(params, 'Egress');
  const ruleAction = required(params, 'RuleAction');
  if (ruleAction !== 'allow' && ruleAction !== 'deny') {
    throw invalid(ruleAction, 'ruleAction', "Expecting 'allow' or 'deny'.");
  }
  const protocol = readProtocol(required(params, 'Protocol'));
  const v4 = params.get('CidrBlock');
  const v6 = params.get('Ipv6CidrBlock');
  if (v4 !== null && v6 !== null) {
    throw new Ec2Fault(
      'InvalidParameterCombination',
      'Only one of cidrBlock and ipv6CidrBlock may be specified.',
    );
  }
  if (v4 === null && v6 === null) {
    throw new Ec2Fault(
      'MissingParameter',
      'The request must contain the parameter cidrBlock or ipv6CidrBlock.',
    );
  }
  const cidr = readCidr(v4 ?? (v6 as string), v4 !== null ? 4 : 6);
  const base: NaclEntry = { ruleNumber, egress, ruleAction, protocol, cidr };
  if (protocol !== '6' && protocol !== '17') return base;
  const fromText = params.get('PortRange.From');
  const toText = params.get('PortRange.To');
  if (fromText === null || toText === null) {
    throw new Ec2Fault(
      'MissingParameter',
      'The request must contain the parameter portRange (From and To) for TCP and UDP.',
    );
  }
  const from = readPort(fromText, 'portRange.from');
  const to = readPort(toText, 'portRange.to');
  if (from > to) {
    throw invalid(`${from}-${to}`, 'portRange', 'From must not be greater than To.');
  }
  return { ...base, portRange: { from, to } };
}

function readRuleNumber(params: Params): number {
  const text = required(params, 'RuleNumber');
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 32766) {
    throw invalid(text, 'ruleNumber', 'Rule numbers must be between 1 and 32766.');
  }
  return n;
}

function readBoolean(params: Params, name: string): boolean {
  const text = required(params, name);
  if (text !== 'true' && text !== 'false') {
    throw invalid(text, lowerFirst(name), "Expecting 'true' or 'false'.");
  }
  return text === 'true';
}

const PROTOCOL_NAMES: Readonly<Record<string, string>> = {
  all: '-1',
  icmp: '1',
  tcp: '6',
  udp: '17',
  icmpv6: '58',
};

function readProtocol(text: string): string {
  const named = PROTOCOL_NAMES[text.toLowerCase()];
  if (named) return named;
  if (text === '-1') return text;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return String(Number(text));
  throw invalid(text, 'protocol', "Expecting '-1', a protocol number 0-255 or a protocol name.");
}

function readPort(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw invalid(text, name, 'Expecting 0-65535.');
  return n;
}

function readCidr(text: string, family: 4 | 6): string {
  const name = family === 4 ? 'cidrBlock' : 'ipv6CidrBlock';
  const parsed = text.includes('/') ? parseCidr(text) : undefined;
  if (!parsed || parsed.family !== family || text.trim() !== text) {
    throw invalid(text, name, `Expecting an IPv${family} CIDR block.`);
  }
  return parsed.text;
}

interface Filter {
  matches(acl: AclState): boolean;
}

function readFilters(params: Params): Filter[] {
  const filters: Filter[] = [];
  for (let i = 1; params.has(`Filter.${i}.Name`); i++) {
    const name = params.get(`Filter.${i}.Name`) as string;
    const patterns = list(params, `Filter.${i}.Value`).map(wildcard);
    const any = (values: readonly string[]) => values.some((v) => patterns.some((p) => p.test(v)));
    switch (name) {
      case 'network-acl-id':
        filters.push({ matches: (acl) => any([acl.naclId]) });
        break;
      case 'vpc-id':
        filters.push({ matches: (acl) => any([acl.vpcId]) });
        break;
      case 'association.subnet-id':
        filters.push({ matches: (acl) => any(acl.subnetIds) });
        break;
      case 'association.network-acl-id':
        filters.push({ matches: (acl) => acl.subnetIds.length > 0 && any([acl.naclId]) });
        break;
      case 'default':
        filters.push({ matches: () => any(['false']) });
        break;
      default:
        throw new Ec2Fault('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }
  return filters;
}

/** EC2 filter values accept `*` (any run) and `?` (one character). */
function wildcard(value: string): RegExp {
  const body = value
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** `Name.1`, `Name.2`, ... in order, stopping at the first gap. */
function list(params: Params, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++)
    values.push(params.get(`${prefix}.${i}`) as string);
  return values;
}

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new Ec2Fault('MissingParameter', `The request must contain the parameter ${name}`);
  }
  return value;
}

function encodeToken(offset: number): string {
  return Buffer.from(`cloudjail-local:${offset}`).toString('base64url');
}

function decodeToken(token: string, size: number): number {
  const match = /^cloudjail-local:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  const offset = match ? Number(match[1]) : Number.NaN;
  if (!(offset >= 0 && offset <= size)) {
    throw new Ec2Fault('InvalidPaginationToken', `The pagination token '${token}' is invalid.`);
  }
  return offset;
}

// ---------------------------------------------------------------------------------------------
// XML

function aclXml(acl: AclState): string {
  const entries = [...acl.entries.values()].sort(
    (a, b) => Number(b.egress) - Number(a.egress) || a.ruleNumber - b.ruleNumber,
  );
  const associations = acl.subnetIds.map(
    (subnet) =>
      `<item><networkAclAssociationId>${esc(associationId(acl.naclId, subnet))}</networkAclAssociationId>` +
      `<networkAclId>${esc(acl.naclId)}</networkAclId><subnetId>${esc(subnet)}</subnetId></item>`,
  );
  return (
    `<item><networkAclId>${esc(acl.naclId)}</networkAclId><vpcId>${esc(acl.vpcId)}</vpcId>` +
    `<ownerId>000000000000</ownerId><default>false</default>` +
    `<entrySet>${entries.map(entryXml).join('')}</entrySet>` +
    `<associationSet>${associations.join('')}</associationSet><tagSet/></item>`
  );
}

function entryXml(entry: NaclEntry): string {
  const cidr =
    familyOf(entry.cidr) === 4
      ? `<cidrBlock>${esc(entry.cidr)}</cidrBlock>`
      : `<ipv6CidrBlock>${esc(entry.cidr)}</ipv6CidrBlock>`;
  const ports = entry.portRange
    ? `<portRange><from>${entry.portRange.from}</from><to>${entry.portRange.to}</to></portRange>`
    : '';
  return (
    `<item><ruleNumber>${entry.ruleNumber}</ruleNumber><protocol>${esc(entry.protocol)}</protocol>` +
    `<ruleAction>${entry.ruleAction}</ruleAction><egress>${entry.egress}</egress>${cidr}${ports}</item>`
  );
}

function okXml(action: string): string {
  return `<${action}Response xmlns="${XMLNS}"><requestId>${randomUUID()}</requestId><return>true</return></${action}Response>`;
}

function errorXml(fault: Ec2Fault): string {
  return (
    `<Response><Errors><Error><Code>${esc(fault.code)}</Code><Message>${esc(fault.message)}</Message>` +
    `</Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`
  );
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string);
}

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function send(res: ServerResponse, status: number, xml: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Ec2Fault('RequestEntityTooLarge', 'The request body is too large.', 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// State

function buildAcls(specs: readonly LocalAclSpec[], ruleQuota: number): Map<string, AclState> {
  const problems: string[] = [];
  const acls = new Map<string, AclState>();
  specs.forEach((spec, i) => {
    const where = `acls[${i}]`;
    if (!/^acl-[0-9a-z]+$/.test(spec.naclId)) {
      problems.push(`${where}.naclId: '${spec.naclId}' is not an ACL id like acl-0123abcd`);
    }
    if (acls.has(spec.naclId)) problems.push(`${where}.naclId: duplicate id ${spec.naclId}`);
    const entries = new Map<string, NaclEntry>();
    for (const egress of [false, true]) {
      entries.set(entryKey(egress, DEFAULT_DENY_IPV4), defaultDeny(DEFAULT_DENY_IPV4, egress));
      entries.set(entryKey(egress, DEFAULT_DENY_IPV6), defaultDeny(DEFAULT_DENY_IPV6, egress));
    }
    (spec.entries ?? []).forEach((entry, j) => {
      const at = `${where}.entries[${j}]`;
      if (!Number.isInteger(entry.ruleNumber) || entry.ruleNumber < 1 || entry.ruleNumber > 32766) {
        problems.push(`${at}.ruleNumber: ${entry.ruleNumber} is outside 1-32766`);
      }
      const cidr = parseCidr(entry.cidr);
      if (!cidr) problems.push(`${at}.cidr: '${entry.cidr}' is not a CIDR`);
      const key = entryKey(entry.egress, entry.ruleNumber);
      if (entries.has(key)) {
        problems.push(`${at}: rule ${entry.ruleNumber} is used twice in that direction`);
      }
      entries.set(key, { ...entry, cidr: cidr?.text ?? entry.cidr });
    });
    for (const egress of [false, true]) {
      for (const family of [4, 6] as const) {
        const used = [...entries.values()].filter(
          (e) => e.egress === egress && parseCidr(e.cidr)?.family === family,
        ).length;
        if (used > ruleQuota) {
          problems.push(
            `${where}: ${used} ${egress ? 'outbound' : 'inbound'} IPv${family} rules exceed the quota of ${ruleQuota}`,
          );
        }
      }
    }
    acls.set(spec.naclId, {
      naclId: spec.naclId,
      vpcId: spec.vpcId ?? `vpc-${spec.naclId.replace(/^acl-/, '')}`,
      subnetIds: [...(spec.subnetIds ?? [])],
      entries,
    });
  });
  if (problems.length) throw new ConfigError(problems, 'local EC2 ACLs');
  return acls;
}

function checkFaults(faults: FaultOptions): FaultOptions {
  const rate = faults.throttleRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) {
    throw new ConfigError([`faults.throttleRate: must be within 0..1, got ${rate}`], 'local EC2');
  }
  return { ...faults };
}

function defaultDeny(ruleNumber: number, egress: boolean): NaclEntry {
  return {
    ruleNumber,
    egress,
    ruleAction: 'deny',
    protocol: '-1',
    cidr: ruleNumber === DEFAULT_DENY_IPV4 ? '0.0.0.0/0' : '::/0',
  };
}

function entryKey(egress: boolean, ruleNumber: number): string {
  return `${egress ? 'e' : 'i'}:${ruleNumber}`;
}

function familyOf(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

function associationId(naclId: string, subnetId: string): string {
  let h = 2166136261;
  for (const c of `${naclId}/${subnetId}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `aclassoc-${h.toString(16).padStart(8, '0')}`;
}

function notFoundAcl(id: string): Ec2Fault {
  return new Ec2Fault('InvalidNetworkAclID.NotFound', `The networkAcl ID '${id}' does not exist`);
}

function notFoundEntry(
  naclId: string,
  entry: { readonly ruleNumber: number; readonly egress: boolean },
): Ec2Fault {
  return new Ec2Fault(
    'InvalidNetworkAclEntry.NotFound',
    `The network acl entry identified by ${entry.ruleNumber} (${entry.egress ? 'egress' : 'ingress'}) does not exist in ${naclId}.`,
  );
}

function invalid(value: string, parameter: string, detail: string): Ec2Fault {
  return new Ec2Fault(
    'InvalidParameterValue',
    `Value (${value}) for parameter ${parameter} is invalid. ${detail}`,
  );
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
