/**
 * The network ACL port: what the enforcer needs from EC2. Implemented by the EC2 adapter
 * (lambda/adapters/ec2-network-acls.ts, real `@aws-sdk/client-ec2`; tests and the embedded mode
 * point it at the local EC2 endpoint in local/ec2-endpoint.ts) and by an in-memory twin for unit
 * tests. Only the enforcer calls the mutating methods (architecture invariant 1).
 *
 * Errors are the domain's, not the SDK's (core/errors.ts): NaclEntryExistsError,
 * NaclEntryNotFoundError, NaclEntryLimitError, NaclNotFoundError, Ec2ThrottledError. Anything
 * else propagates unchanged.
 */
import type { PortRange } from '../core/deny-spec.js';

/** One entry as the enforcer sees it. */
export interface NaclEntry {
  /** 1-32766 for user rules; 32767 (IPv4) and 32768 (IPv6) are the default deny ("*"). */
  readonly ruleNumber: number;
  /** false = inbound. cloudjail only writes inbound entries; outbound ones are listed untouched. */
  readonly egress: boolean;
  readonly ruleAction: 'allow' | 'deny';
  /** EC2 protocol number as a string: "-1" (all), "6" (tcp), "17" (udp), ... */
  readonly protocol: string;
  /** Canonical CIDR (core/ip-address.ts), IPv4 or IPv6: `203.0.113.7/32`, `2001:db8::/64`. */
  readonly cidr: string;
  /** Only for tcp/udp entries limited to ports. */
  readonly portRange?: PortRange;
}

export interface NetworkAcl {
  readonly naclId: string;
  /** Every entry, both directions, both families, default denies included. */
  readonly entries: readonly NaclEntry[];
}

export interface NetworkAclPort {
  /** The ACLs with these ids, in the order asked. Throws NaclNotFoundError for an unknown id. */
  describe(naclIds: readonly string[]): Promise<readonly NetworkAcl[]>;
  /** CreateNetworkAclEntry. NaclEntryExistsError when the number is taken in that direction. */
  createEntry(naclId: string, entry: NaclEntry): Promise<void>;
  /** ReplaceNetworkAclEntry (in place, no gap). NaclEntryNotFoundError when the number is free. */
  replaceEntry(naclId: string, entry: NaclEntry): Promise<void>;
  /** DeleteNetworkAclEntry. NaclEntryNotFoundError when the number is free. */
  deleteEntry(naclId: string, ruleNumber: number, egress: boolean): Promise<void>;
}
