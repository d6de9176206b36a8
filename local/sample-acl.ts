/**
 * The sample network ACL of the embedded mode and the tests (no AWS SDK here: the in-memory
 * replay builds its NACLs from it without loading the local EC2 endpoint).
 */
import type { NaclEntry } from '../lambda/ports/network-acls.js';
import type { LocalAclSpec } from './ec2-endpoint.js';

/**
 * The demo ACL: allow everything in and out, rule 100 for IPv4 and 101 for IPv6 (what a default
 * VPC ACL holds). With the default quota, 18 deny entries per direction per family fit below them.
 */
export const SAMPLE_ACL: LocalAclSpec = sampleAcl('acl-0c10d0a1b2c3d4e5f');

/** {@link SAMPLE_ACL} under another id (and derived VPC and subnet ids), for several ACLs at once. */
export function sampleAcl(naclId: string): LocalAclSpec {
  const suffix = naclId.replace(/^acl-/, '');
  const allow = (ruleNumber: number, egress: boolean, cidr: string): NaclEntry => ({
    ruleNumber,
    egress,
    ruleAction: 'allow',
    protocol: '-1',
    cidr,
  });
  return {
    naclId,
    vpcId: `vpc-${suffix}`,
    subnetIds: [`subnet-${suffix}`],
    entries: [
      allow(100, false, '0.0.0.0/0'),
      allow(101, false, '::/0'),
      allow(100, true, '0.0.0.0/0'),
      allow(101, true, '::/0'),
    ],
  };
}
