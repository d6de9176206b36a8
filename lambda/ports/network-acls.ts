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
import type { AclEntry } from '../core/enforcement/acl-entries.js';

/**
 * One entry as the enforcer sees it: the planner's AclEntry (core/enforcement/acl-entries.ts) —
 * rule number (1-32766 for user rules; 32767/32768 are the IPv4/IPv6 default denies), direction
 * (`egress`), action, EC2 protocol number as a string ("-1" all, "6" tcp, "17" udp), canonical
 * CIDR of either family, and a port range for tcp/udp entries limited to ports.
 */
export type NaclEntry = AclEntry;

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
