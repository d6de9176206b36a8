/**
 * What a ban denies: all traffic, or some ports over some protocols. A NACL entry holds one protocol
 * and one contiguous port range, so a spec expands to one or more entries per banned CIDR.
 */
export type IpProtocol = 'tcp' | 'udp';

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export type DenySpec =
  | { readonly kind: 'all' }
  | {
      readonly kind: 'ports';
      /** Sorted, merged, non-overlapping ranges within 1-65535. */
      readonly ports: readonly PortRange[];
      readonly protocols: readonly IpProtocol[];
    };

/** The SIP default: 5060-5061 over TCP and UDP (fail2ban's asterisk/freeswitch jails). */
export const SIP_DENY: DenySpec = {
  kind: 'ports',
  ports: [{ from: 5060, to: 5061 }],
  protocols: ['tcp', 'udp'],
};

export const DENY_ALL: DenySpec = { kind: 'all' };
